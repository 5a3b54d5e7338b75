"""The gateway's public HTTP API under /api: authenticated, then routed to the services."""

from __future__ import annotations

import json
from typing import Annotated, Any

from contracts.customers import (
    Customer,
    CustomerCreate,
    CustomerPage,
    CustomerSearch,
    SearchText,
)
from contracts.limits import INT64_MAX
from contracts.value_runs import ValueRunOptions
from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from pydantic import Field
from servicekit.auth import CurrentCaller, CurrentIdentity, Identity, require_role
from servicekit.problems import Problem

from gateway.bulk_models import ImportCheck, ImportJob, csv_upload
from gateway.lists_models import SavedSearch
from gateway.upstream import API_PREFIX, IdempotencyKey, Upstreams, idempotency_header
from gateway.view import customer_360, timeline_page
from gateway.view_models import Customer360, Customer360TimelinePage

router = APIRouter(prefix=API_PREFIX, tags=["customers"])
IfMatch = Annotated[
    str | None,
    Header(alias="if-match", description='The version you read, as its ETag: "3"'),
]


def if_match_header(if_match: str | None) -> dict[str, str]:
    return {"if-match": if_match} if if_match is not None else {}


def upstreams(request: Request) -> Upstreams:
    return request.app.state.upstreams


Services = Annotated[Upstreams, Depends(upstreams)]


@router.post(
    "/customers",
    status_code=201,
    response_model=Customer,
    responses={
        409: {"description": "MDM code already used"},
        422: {"description": "Invalid input (problem details name the field)"},
    },
)
async def create_customer(
    body: CustomerCreate,
    services: Services,
    identity: CurrentIdentity,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await services.forward(
        "customer",
        "POST",
        "/customers",
        identity,
        json=body.model_dump(mode="json", exclude_unset=True),
        headers=idempotency_header(idempotency_key),
    )


class Search(CustomerSearch):
    list_name: SearchText | None = Field(
        default=None, description="Customers on the static list or group with this name"
    )


async def _list_members(services: Upstreams, name: str, identity: Identity) -> list[str]:
    """The customers on every list with this name (names are not unique)."""
    found = await services.call("lists", "GET", "/lists", identity, params={"name": name})
    if found.status_code != 200:
        raise Problem(
            f"the lists service answered {found.status_code}",
            status=502,
            code="lists-unavailable",
        )
    ids: set[str] = set()
    for listed in found.json():
        members = await services.call(
            "lists", "GET", f"/lists/{listed['id']}/customer-ids", identity
        )
        if members.status_code == 200:
            ids.update(members.json()["customer_ids"])
    return sorted(ids)


@router.get("/customers", response_model=CustomerPage)
async def search_customers(
    criteria: Annotated[Search, Query()], services: Services, identity: CurrentIdentity
) -> Response:
    """Search by any combination of criteria; page on with ``cursor=<next_cursor>``."""
    if criteria.list_name is None:
        params = criteria.model_dump(mode="json", exclude_none=True)
        return await services.forward("customer", "GET", "/customers", identity, params=params)
    ids = await _list_members(services, criteria.list_name, identity)
    if criteria.customer_ids is not None:
        ids = sorted(set(ids) & set(criteria.customer_ids))
    body = criteria.model_dump(mode="json", exclude_none=True, exclude={"list_name"})
    return await services.forward(
        "customer", "POST", "/customers/search", identity, json={**body, "customer_ids": ids}
    )


@router.get(
    "/customers/export.csv",
    responses={200: {"content": {"text/csv": {}}, "description": "Every match, as CSV"}},
)
async def export_customers(
    criteria: Annotated[CustomerSearch, Query()], services: Services, identity: CurrentIdentity
) -> Response:
    """Every customer matching the criteria, as CSV (limit and cursor are ignored)."""
    params = criteria.model_dump(mode="json", exclude_none=True)
    return await services.stream("customer", "/customers/export.csv", identity, params=params)


@router.get("/customers/{customer_id}", response_model=Customer)
async def get_customer(customer_id: str, services: Services, identity: CurrentIdentity) -> Response:
    return await services.forward("customer", "GET", f"/customers/{customer_id}", identity)


@router.patch(
    "/customers/{customer_id}",
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
            description="The fields to change; null clears a field; unknown fields get 422",
            examples=[{"email": "new@example.org", "fax": None}],
        ),
    ],
    services: Services,
    identity: CurrentIdentity,
    if_match: IfMatch = None,
) -> Response:
    return await services.forward(
        "customer",
        "PATCH",
        f"/customers/{customer_id}",
        identity,
        json=patch,
        headers=if_match_header(if_match),
    )


@router.delete("/customers/{customer_id}", status_code=204)
async def erase_customer(
    customer_id: str, services: Services, identity: CurrentIdentity
) -> Response:
    """Erase a customer everywhere (privacy request; manager or admin)."""
    return await services.forward("customer", "DELETE", f"/customers/{customer_id}", identity)


@router.get("/customers/{customer_id}/history")
async def customer_history(
    customer_id: str,
    services: Services,
    identity: CurrentIdentity,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before_version: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
) -> Response:
    params: dict[str, Any] = {"limit": limit}
    if before_version is not None:
        params["before_version"] = before_version
    return await services.forward(
        "customer", "GET", f"/customers/{customer_id}/history", identity, params=params
    )


@router.get("/customers/{customer_id}/360", responses={200: {"model": Customer360}})
async def get_customer_360(
    customer_id: str, request: Request, services: Services, identity: CurrentIdentity
) -> Response:
    """The Customer 360 view: the record, loyalty (member, purchases, coupons), segments,
    lists and timeline; a part whose service is down is marked unavailable."""
    timeout = request.app.state.settings.view_part_timeout_seconds
    view = await customer_360(services, customer_id, identity, timeout)
    # The parts are JSON already (as the services sent them): dump them as they are, without
    # FastAPI's per-value encoder walking the whole view again.
    return Response(json.dumps(view, separators=(",", ":")), media_type="application/json")


@router.get(
    "/customers/{customer_id}/360/timeline",
    response_model=None,
    responses={200: {"model": Customer360TimelinePage}},
)
async def get_customer_360_timeline(
    customer_id: str,
    request: Request,
    services: Services,
    identity: CurrentIdentity,
    before: Annotated[
        str | None,
        Query(max_length=600, description="next_before of a page (or a time: older items)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    """The 360 timeline page by page: notes, cases, fulfilments, responses, attachments,
    enrollment, purchases, points, tiers, coupons and communications, newest first."""
    timeout = request.app.state.settings.view_part_timeout_seconds
    return await timeline_page(services, customer_id, identity, before, limit, timeout)


# Registered last: the routes above win; everything else under a customer is passed through.
@router.api_route(
    "/customers/{customer_id}/{rest:path}",
    methods=["GET", "POST", "PATCH", "DELETE"],
    summary="A customer's status changes (suspend, reactivate, void), suppressions, traits, "
    "notes, cases, fulfilments, responses, attachments and timeline (see the customer "
    "service's API for each)",
)
async def customer_resources(
    customer_id: str, rest: str, request: Request, services: Services, identity: CurrentIdentity
) -> Response:
    return await services.relay(request, "customer", f"/customers/{customer_id}/{rest}", identity)


@router.api_route("/traits", methods=["GET", "POST"], summary="The trait catalogue")
async def trait_catalogue(
    request: Request, services: Services, identity: CurrentIdentity
) -> Response:
    return await services.relay(request, "customer", "/traits", identity)


@router.post(
    "/bulk/import-checks",
    response_model=ImportCheck,
    tags=["bulk"],
    openapi_extra=csv_upload(),
)
async def check_import(request: Request, services: Services, identity: CurrentIdentity) -> Response:
    """Check a CSV file before importing it (nothing is stored): how its columns map, the fields
    a column may map to, how many rows, and every bad row with its column and why."""
    timeout = request.app.state.settings.bulk_timeout_seconds
    return await services.relay(request, "customer", "/bulk/import-checks", identity, timeout)


@router.post(
    "/bulk/imports",
    status_code=202,
    response_model=ImportJob,
    tags=["bulk"],
    openapi_extra=csv_upload("on_invalid"),
)
async def start_import(request: Request, services: Services, identity: CurrentIdentity) -> Response:
    """Import customers from a CSV file: a job (Location), whose progress and report
    GET /bulk/imports/{job_id} shows; rows dedupe against existing customers."""
    timeout = request.app.state.settings.bulk_timeout_seconds
    return await services.relay(request, "customer", "/bulk/imports", identity, timeout)


@router.get("/bulk/imports/{job_id}", response_model=ImportJob, tags=["bulk"])
async def import_job(job_id: str, services: Services, identity: CurrentIdentity) -> Response:
    """An import's progress, and its report (each refused row) when done."""
    return await services.forward("customer", "GET", f"/bulk/imports/{job_id}", identity)


@router.api_route(
    "/bulk/{rest:path}",
    methods=["GET", "POST"],
    summary="Bulk work: CSV import (a job), CSV updates of suppressions, traits and "
    "fulfilments, delete from a search",
)
async def bulk_work(
    rest: str, request: Request, services: Services, identity: CurrentIdentity
) -> Response:
    timeout = request.app.state.settings.bulk_timeout_seconds
    return await services.relay(request, "customer", f"/bulk/{rest}", identity, timeout)


@router.get("/saved-searches", response_model=list[SavedSearch], tags=["saved searches"])
async def list_saved_searches(services: Services, identity: CurrentIdentity) -> Response:
    """Saved searches: named criteria that people, groups and lists reuse (the caller's and
    their teams'; an admin's: all)."""
    return await services.forward("customer", "GET", "/saved-searches", identity)


@router.api_route(
    "/saved-searches",
    methods=["POST"],
    summary="Save a search: named criteria that people, groups and lists reuse",
)
@router.api_route(
    "/saved-searches/{rest:path}",
    methods=["GET", "PUT", "DELETE"],
    summary="One saved search; /customers runs it, /export.csv exports what it finds",
)
async def saved_searches(
    request: Request, services: Services, identity: CurrentIdentity
) -> Response:
    path = request.scope["path"].removeprefix(API_PREFIX)  # as sent: url.path drops a \n
    return await services.relay(request, "customer", path, identity)


@router.api_route(
    "/members/{rest:path}",
    methods=["GET", "POST"],
    summary="Loyalty: GET /{customer} (status, tier, balance, purchase metrics), "
    "GET /{customer}/ledger, GET /{customer}/purchases, POST /{customer}/adjustments "
    "(manager or admin: points and a reason), POST /{customer}/redemptions, POST "
    "/{customer}/tier (manager or admin), GET /{customer}/coupons (by tab), POST "
    "/{customer}/coupons (quick issue), POST /{customer}/coupons/{id}/reserve, /redeem, /cancel",
    tags=["loyalty"],
)
@router.api_route(
    "/rfm/runs",
    methods=["POST"],
    status_code=201,
    summary="Score RFM for every member now (manager or admin)",
    tags=["loyalty"],
)
@router.api_route("/rfm/runs/latest", methods=["GET"], tags=["loyalty"])
@router.api_route("/value/runs/latest", methods=["GET"], tags=["loyalty"])
@router.api_route(
    "/tiers/reassessments",
    methods=["POST"],
    status_code=201,
    summary="Reassess every member's tier now (manager or admin)",
    tags=["loyalty"],
)
@router.api_route(
    "/coupons",
    methods=["GET", "POST"],
    summary="Coupon definitions (promotions): POST (manager or admin), GET",
    tags=["loyalty"],
)
@router.api_route("/coupons/{rest:path}", methods=["GET"], tags=["loyalty"])
@router.api_route(
    "/purchases/{rest:path}",
    methods=["GET", "POST"],
    summary="GET /{order} a purchase's details; POST /{order}/transfer gives it (and its "
    "points) to another customer",
    tags=["loyalty"],
)
async def loyalty(request: Request, services: Services, identity: CurrentIdentity) -> Response:
    path = request.scope["path"].removeprefix(API_PREFIX)  # as sent: url.path drops a \n
    return await services.relay(request, "loyalty", path, identity)


@router.post(
    "/value/runs",
    status_code=202,
    tags=["loyalty"],
    summary="Predict every member's value now: BG/NBD (or MBG/NBD) and Gamma-Gamma; or, as of a "
    "past day, a backtest of the model against the purchases since (manager or admin)",
    responses={409: {"description": "A run is under way"}},
)
async def start_value_run(
    services: Services,
    identity: CurrentIdentity,
    idempotency_key: IdempotencyKey = None,
    options: ValueRunOptions | None = None,
) -> Response:
    body = options.model_dump(mode="json", exclude_none=True) if options else None
    return await services.forward(
        "loyalty",
        "POST",
        "/value/runs",
        identity,
        json=body,
        headers=idempotency_header(idempotency_key),
    )


@router.get(
    "/value/runs/{version}",
    tags=["loyalty"],
    responses={404: {"description": "No such run"}},
    summary="A predicted-value run: running, done (with the fitted parameters) or failed",
)
async def value_run(
    version: Annotated[int, Path(ge=1, le=INT64_MAX)], services: Services, identity: CurrentIdentity
) -> Response:
    return await services.forward("loyalty", "GET", f"/value/runs/{version}", identity)


@router.post(
    "/purchases",
    summary="Record a purchase (idempotent by order id): the commerce service identity, a "
    "manager or an admin; within the purchase bounds, for a member",
    tags=["loyalty"],
)
async def record_purchase(
    request: Request, services: Services, identity: CurrentCaller
) -> Response:
    # Checked here and again by the loyalty service, whose port is reachable too.
    require_role(identity, "manager", "admin", services=("commerce",))
    return await services.relay(request, "loyalty", "/purchases", identity)
