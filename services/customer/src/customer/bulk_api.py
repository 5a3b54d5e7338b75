"""HTTP routes for bulk work: CSV updates and deleting what a search finds."""

from __future__ import annotations

from typing import Annotated, Any

from contracts.customers import CustomerSearch
from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from servicekit.auth import CurrentIdentity
from servicekit.problems import Problem

from customer import bulk
from customer.api import Customers, require_manager
from customer.interactions_api import Interactions

router = APIRouter(prefix="/bulk", tags=["bulk"])
MAX_CSV_BYTES = 5 * 1024 * 1024


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
        data = await file.read(MAX_CSV_BYTES + 1)
        if len(data) > MAX_CSV_BYTES:
            raise Problem(
                f"the file exceeds {MAX_CSV_BYTES} bytes",
                status=413,
                code="file-too-large",
                field="file",
            )
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
