"""HTTP routes for bulk work: CSV updates and deleting what a search finds."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from contracts.customers import CustomerSearch
from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from servicekit.auth import CurrentIdentity
from servicekit.problems import Invalid

from customer import bulk
from customer.api import Customers, require_manager
from customer.imports import Importer
from customer.interactions_api import Interactions

router = APIRouter(prefix="/bulk", tags=["bulk"])


class BulkDelete(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criteria: CustomerSearch
    confirm: str | None = Field(
        default=None, description="The token the first call returned; without it nothing is deleted"
    )


def _csv_route(target: bulk.Target, columns: str) -> None:
    # Annotations are evaluated in module scope (postponed evaluation): no closure names in them.
    @router.post(
        f"/{target}",
        name=f"bulk_{target}",
        summary=f"Update {target} from a CSV file: {columns}",
    )
    async def update(
        file: Annotated[UploadFile, File(description="The CSV file (multipart field file)")],
        customers: Customers,
        interactions: Interactions,
        identity: CurrentIdentity,
    ) -> dict[str, Any]:
        data = await file.read()  # within the route's body limit (CSV uploads)
        report = await bulk.update_from_csv(target, data, customers, interactions, identity)
        return report.__dict__


for _target, _columns in (
    ("suppressions", "customer id, suppression type[, date, reason]"),
    ("traits", "customer id, trait name"),
    ("fulfilments", "customer id, date, type, activity, reference code"),
):
    _csv_route(_target, _columns)  # type: ignore[arg-type]


@router.post("/delete", summary="Erase every customer a search finds, after confirming the count")
async def delete_matching(
    body: BulkDelete, customers: Customers, identity: CurrentIdentity
) -> dict[str, Any]:
    """Call once with the criteria: the answer says how many match and gives a ``confirm``
    token. Call again with that token to erase them (409 if the matches changed meanwhile)."""
    require_manager(identity)
    return await bulk.delete_matching(body.criteria, body.confirm, customers, identity)


def importer(request: Request) -> Importer:
    return request.app.state.importer


MAPPING_DESCRIPTION = (
    'JSON object: CSV header -> customer field, e.g. {"E-mail": "email"}; without it, headers '
    "that name a field map to it"
)


def _mapping(mapping: str | None) -> dict[str, str] | None:
    try:
        return None if mapping is None else TypeAdapter(dict[str, str]).validate_json(mapping)
    except ValidationError as exc:
        raise Invalid.from_errors(
            [{"loc": ("mapping",), "msg": "a JSON object of column -> field", "type": "mapping"}]
        ) from exc


@router.post(
    "/import-checks",
    summary="Check a CSV file before importing it: the mapping, the fields, each bad row",
)
async def check_import(
    file: Annotated[UploadFile, File(description="CSV with a header row")],
    jobs: Annotated[Importer, Depends(importer)],
    identity: CurrentIdentity,
    mapping: Annotated[str | None, Form(description=MAPPING_DESCRIPTION)] = None,
) -> dict[str, Any]:
    """Nothing is stored: the answer says how the columns map (and which do not), the fields a
    column may map to, how many rows there are and every row refused with its column and why
    (as abort mode checks them)."""
    return await jobs.check(await file.read(), _mapping(mapping))


@router.post(
    "/imports",
    status_code=202,
    summary="Import customers from a CSV file (a job: poll its progress and report)",
)
async def start_import(
    file: Annotated[UploadFile, File(description="CSV with a header row")],
    jobs: Annotated[Importer, Depends(importer)],
    identity: CurrentIdentity,
    response: Response,
    mapping: Annotated[
        str | None,
        Form(description=MAPPING_DESCRIPTION),
    ] = None,
    on_invalid: Annotated[Literal["skip", "abort"], Form()] = "skip",
) -> dict[str, Any]:
    data = await file.read()  # within the route's body limit (CSV uploads)
    columns = _mapping(mapping)
    job = await jobs.start(data, file.filename or "import.csv", columns, on_invalid, identity)
    response.headers["Location"] = f"/bulk/imports/{job['id']}"
    return job


@router.get("/imports/{job_id}", summary="An import's progress, and its report when done")
async def import_status(
    job_id: str, jobs: Annotated[Importer, Depends(importer)], identity: CurrentIdentity
) -> dict[str, Any]:
    return await jobs.get(job_id, identity)
