"""The shapes of a CSV import of customers (seed 003) as the customer service answers them: the
check before an import, and the import job with its progress and report, for the OpenAPI
document and the console's generated client. Each allows fields a service may add."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from gateway.targeting_models import Open


def csv_upload(*options: str) -> dict[str, Any]:
    """The multipart body of a CSV upload (the gateway relays it as sent), for openapi_extra."""
    properties: dict[str, Any] = {
        "file": {"type": "string", "format": "binary", "description": "CSV with a header row"},
        "mapping": {
            "type": "string",
            "description": "JSON object: CSV header -> customer field; without it, headers that "
            "name a field map to it",
        },
    }
    if "on_invalid" in options:
        properties["on_invalid"] = {
            "type": "string",
            "enum": ["skip", "abort"],
            "description": "skip: import the good rows, report the bad; abort: import nothing "
            "if any row is bad",
        }
    schema = {"type": "object", "required": ["file"], "properties": properties}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


class RowError(Open):
    row: int | None = Field(description="The row's line number in the file (the header is 1)")
    column: str | None = Field(description="The field or fields at fault")
    message: str


class ImportCheck(BaseModel):
    """What an import of a file would take: nothing is stored."""

    columns: dict[str, str] = Field(description="CSV header -> customer field")
    unmapped: list[str] = Field(description="Headers that map to no field (not imported)")
    fields: list[str] = Field(description="The customer fields a column may map to")
    rows: int
    valid: int
    rejected: int
    errors: list[RowError]


class ImportProgress(Open):
    rows: int = 0
    created: int = 0
    updated: int = 0
    matched: int = 0
    rejected: int = 0
    errors: list[RowError] = Field(default_factory=list)
    failure: Any = None


class ImportJob(Open):
    id: str
    status: str = Field(
        description="running, done, rejected (abort mode: nothing imported), failed"
    )
    filename: str | None = None
    on_invalid: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    created_at: str | None = None
    created_by: str | None = None
    progress: ImportProgress
    finished_at: str | None = None
