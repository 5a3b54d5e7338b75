"""The customer service's HTTP API: parse, call a use case, shape the response."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from contracts.customer_events import FieldChange
from contracts.customers import (
    Customer,
    CustomerCreate,
    CustomerPage,
    CustomerSearch,
    CustomerStatus,
)
from contracts.limits import INT64_MAX
from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from servicekit.auth import CurrentIdentity, Identity
from servicekit.problems import Forbidden, if_match_version

from customer import export
from customer.handlers import CustomerService
from customer.search import build_query

router = APIRouter(prefix="/customers", tags=["customers"])


def service(request: Request) -> CustomerService:
    return request.app.state.customers


Customers = Annotated[CustomerService, Depends(service)]


def etag(customer: Customer) -> str:
    return f'"{customer.version}"'


IfMatch = Annotated[str | None, Header(alias="if-match")]


def answer(customer: Customer, response: Response) -> Customer:
    response.headers["ETag"] = etag(customer)
    return customer


@router.post("", status_code=201, response_model=Customer)
async def create_customer(
    body: CustomerCreate, customers: Customers, identity: CurrentIdentity, response: Response
) -> Customer:
    customer = await customers.register(body, identity)
    response.headers["Location"] = f"/customers/{customer.id}"
    return answer(customer, response)


@router.get("", response_model=CustomerPage)
async def search_customers(
    criteria: Annotated[CustomerSearch, Query()], customers: Customers, identity: CurrentIdentity
) -> CustomerPage:
    """Search by any combination of criteria; page on with ``cursor=<next_cursor>``."""
    return await customers.search(criteria)


@router.post("/search", response_model=CustomerPage)
async def search_customers_by_body(
    criteria: CustomerSearch, customers: Customers, identity: CurrentIdentity
) -> CustomerPage:
    """The same search with the criteria in the body (for long ``customer_ids`` lists)."""
    return await customers.search(criteria)


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "Every match, as CSV"}},
)
async def export_customers(
    criteria: Annotated[CustomerSearch, Query()], customers: Customers, identity: CurrentIdentity
) -> StreamingResponse:
    """Every customer matching the criteria (as for search; limit and cursor are ignored)."""
    # refused criteria are a 422 now: once the stream has begun, an error can only break it
    build_query(criteria.model_copy(update={"cursor": None}))
    return StreamingResponse(
        export.csv_lines(customers.search, criteria),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="customers.csv"'},
    )


@router.get("/{customer_id}", response_model=Customer)
async def get_customer(
    customer_id: str, customers: Customers, identity: CurrentIdentity, response: Response
) -> Customer:
    return answer(await customers.get(customer_id), response)


@router.patch(
    "/{customer_id}",
    response_model=Customer,
    responses={
        409: {"description": "The record changed since the version in If-Match"},
        422: {"description": "Invalid field values (problem details name the fields)"},
        428: {"description": "No If-Match header"},
    },
)
async def edit_customer(
    customer_id: str,
    patch: Annotated[
        dict[str, Any],
        Body(
            description="The fields to change, as in the customer record; null clears a field. "
            "Unknown fields are rejected.",
            examples=[{"email": "new@example.org", "fax": None}],
        ),
    ],
    customers: Customers,
    identity: CurrentIdentity,
    response: Response,
    if_match: IfMatch = None,
) -> Customer:
    version = if_match_version(if_match, required=True)
    assert version is not None
    return answer(await customers.edit(customer_id, patch, version, identity), response)


def _status_route(path: str, status: CustomerStatus, summary: str) -> None:
    @router.post(f"/{{customer_id}}/{path}", response_model=Customer, summary=summary)
    async def change_status(
        customer_id: str,
        customers: Customers,
        identity: CurrentIdentity,
        response: Response,
        if_match: IfMatch = None,
    ) -> Customer:
        version = if_match_version(if_match, required=False)
        customer = await customers.set_status(customer_id, status, identity, version)
        return answer(customer, response)


_status_route("suspend", "suspended", "Suspend a customer (kept, but out of marketing)")
_status_route("reactivate", "active", "Make a suspended or void customer active again")
_status_route("void", "void", "Void (deactivate) a customer")


@router.delete("/{customer_id}", status_code=204, summary="Erase a customer (privacy request)")
async def erase_customer(
    customer_id: str, customers: Customers, identity: CurrentIdentity
) -> Response:
    require_manager(identity)
    await customers.erase(customer_id, identity)
    return Response(status_code=204)


def require_manager(identity: Identity) -> None:
    if identity.role not in ("manager", "admin"):
        raise Forbidden("erasing a customer needs the manager or admin role", code="role-required")


class HistoryEntry(BaseModel):
    version: int
    at: datetime
    event: str
    origin: str
    changed_by: str | None
    changes: list[FieldChange]


class HistoryPage(BaseModel):
    items: list[HistoryEntry]
    next_before_version: int | None = None


@router.get("/{customer_id}/history", response_model=HistoryPage)
async def customer_history(
    customer_id: str,
    customers: Customers,
    identity: CurrentIdentity,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before_version: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
) -> HistoryPage:
    """Every change, newest first: field, old and new value, when, and who or which MDM event.
    Page on with ``before_version=<next_before_version>``."""
    entries = await customers.history(customer_id, limit + 1, before_version)
    page = [HistoryEntry.model_validate(e) for e in entries[:limit]]
    more = len(entries) > limit
    return HistoryPage(items=page, next_before_version=page[-1].version if more else None)
