"""Segmentation and targeting lists through the gateway: the services' own routes passed
through, and the seed-000 add/edit flow, which spans both services.

The flow's rules (a draft plan, an active customer, accounts only when the plan targets account
segments) live in the lists service: each step asks it first, then the segmentation service
computes or saves, and the list follows by events; nothing here decides membership.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from servicekit.auth import CurrentIdentity, Identity
from servicekit.problems import Problem

from gateway.lists_models import (
    CustomersAdded,
    ListFromSearch,
    ListMemberPage,
    ListSummary,
    MatchingAdded,
    StaticList,
)
from gateway.targeting_models import (
    Computed,
    Explanation,
    Lookup,
    Plan,
    PlanMemberPage,
    Saved,
    Segmentation,
    Team,
)
from gateway.upstream import API_PREFIX, IdempotencyKey, Upstreams, idempotency_header

router = APIRouter(prefix=API_PREFIX)
# the add/edit flow and submit on a plan submitted already (problem plan-submitted)
PLAN_SUBMITTED: dict[int | str, dict[str, Any]] = {
    409: {"description": "The plan is submitted: its list can no longer be edited"}
}
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]


def upstreams(request: Request) -> Upstreams:
    return request.app.state.upstreams


Services = Annotated[Upstreams, Depends(upstreams)]


class ProfileEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profiles: dict[Code, dict[Code, str]] = Field(
        min_length=1,
        description="Segmentation -> (dimension -> profile value)",
        examples=[{"cardio": {"potential": "high", "adoption": "early"}}],
    )


def _problem(response: httpx.Response) -> Problem:
    """A service's problem answer, raised again as it is."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    extensions = {k: v for k, v in body.items() if k not in ("type", "title", "status", "detail")}
    return Problem(
        body.get("detail", f"upstream answered {response.status_code}"),
        status=response.status_code,
        code=str(body.get("type", "")).rsplit("/", 1)[-1] or "upstream-error",
        title=body.get("title", "Upstream error"),
        **extensions,
    )


async def _ok(call: Any) -> Any:
    response: httpx.Response = await call
    if response.status_code >= 400:
        raise _problem(response)
    return response.json() if response.status_code != 204 else None


async def _check_editable(
    services: Upstreams, plan_id: str, customer_id: str, edit: ProfileEdit, identity: Identity
) -> None:
    await _ok(
        services.call(
            "lists",
            "GET",
            f"/plans/{plan_id}/editable/{customer_id}",
            identity,
            params=[("segmentation", code) for code in edit.profiles],
        )
    )


# Typed routes for what the console reads and does (the rest of /plans, /segmentations, ... is
# passed through below); each relays the service's answer as it is, problems included.
Brick = Annotated[str, Query(min_length=1, max_length=64)]


@router.get("/plans", response_model=list[Plan], tags=["plans"])
async def list_plans(
    services: Services, identity: CurrentIdentity, team_id: str | None = None
) -> Response:
    """The plans of the caller's teams (an admin's: all)."""
    params = {"team_id": team_id} if team_id else None
    return await services.forward("lists", "GET", "/plans", identity, params=params)


@router.get("/plans/{plan_id}", response_model=Plan, tags=["plans"])
async def get_plan(plan_id: str, services: Services, identity: CurrentIdentity) -> Response:
    return await services.forward("lists", "GET", f"/plans/{plan_id}", identity)


@router.post(
    "/plans/{plan_id}/submit",
    response_model=Plan,
    tags=["plans"],
    responses=PLAN_SUBMITTED,
)
async def submit_plan(plan_id: str, services: Services, identity: CurrentIdentity) -> Response:
    """Submit the plan: its list is frozen in a snapshot and can no longer be edited."""
    return await services.forward("lists", "POST", f"/plans/{plan_id}/submit", identity)


@router.post(
    "/plans/{plan_id}/reopen",
    response_model=Plan,
    tags=["plans"],
    responses={
        403: {"description": "Only a manager of the plan's team (or an admin) reopens it"},
        409: {"description": "The plan is not submitted (problem plan-not-submitted)"},
    },
)
async def reopen_plan(plan_id: str, services: Services, identity: CurrentIdentity) -> Response:
    """Reopen a submitted plan: a draft again, the reopening recorded in ``reopened``."""
    return await services.forward("lists", "POST", f"/plans/{plan_id}/reopen", identity)


@router.get("/teams", response_model=list[Team], tags=["teams"])
async def list_teams(services: Services, identity: CurrentIdentity) -> Response:
    """Every team with its territory (bricks) and reps."""
    return await services.forward("lists", "GET", "/teams", identity)


def _list_filters(
    segmentation: Code | None, segment: Code | None, brick: str | None
) -> dict[str, str]:
    given = {"segmentation": segmentation, "segment": segment, "brick": brick}
    return {k: v for k, v in given.items() if v}


@router.get("/plans/{plan_id}/customers", response_model=PlanMemberPage, tags=["plans"])
async def plan_customers(
    plan_id: str,
    services: Services,
    identity: CurrentIdentity,
    segmentation: Code | None = None,
    segment: Code | None = None,
    brick: Brick | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Response:
    """The plan's list (a submitted plan's: its snapshot), paged by customer id, filtered by a
    segment (segmentation and segment) and by brick."""
    params = {**_list_filters(segmentation, segment, brick), "limit": limit}
    if cursor:
        params["cursor"] = cursor
    return await services.forward(
        "lists", "GET", f"/plans/{plan_id}/customers", identity, params=params
    )


@router.get(
    "/plans/{plan_id}/customers.csv",
    tags=["plans"],
    responses={200: {"content": {"text/csv": {}}, "description": "The filtered list, as CSV"}},
)
async def export_plan_customers(
    plan_id: str,
    services: Services,
    identity: CurrentIdentity,
    segmentation: Code | None = None,
    segment: Code | None = None,
    brick: Brick | None = None,
) -> Response:
    params = _list_filters(segmentation, segment, brick)
    return await services.stream(
        "lists", f"/plans/{plan_id}/customers.csv", identity, params=params
    )


@router.get("/plans/{plan_id}/explain/{customer_id}", response_model=Explanation, tags=["plans"])
async def explain_membership(
    plan_id: str, customer_id: str, services: Services, identity: CurrentIdentity
) -> Response:
    """Why the customer is (not) in the plan's list: every reason, with the data behind it."""
    return await services.forward(
        "lists", "GET", f"/plans/{plan_id}/explain/{customer_id}", identity
    )


@router.get(
    "/plans/{plan_id}/lookup", response_model=Lookup, tags=["plans"], responses=PLAN_SUBMITTED
)
async def lookup_customer(
    plan_id: str,
    services: Services,
    identity: CurrentIdentity,
    mdm_code: Annotated[str, Query(min_length=1, max_length=64)],
    kind: Literal["person", "account"] = "person",
) -> Response:
    """Add/edit step 1: find a customer or account by MDM code (404 if none, a problem if
    inactive or an account the plan cannot take)."""
    params = {"mdm_code": mdm_code, "kind": kind}
    return await services.forward(
        "lists", "GET", f"/plans/{plan_id}/lookup", identity, params=params
    )


@router.get("/segmentations/{code}", response_model=Segmentation, tags=["segmentations"])
async def get_segmentation(code: str, services: Services, identity: CurrentIdentity) -> Response:
    """A segmentation's dimensions (with their allowed profile values) and segment rules; its
    ETag is the rule version."""
    return await services.forward("segmentation", "GET", f"/segmentations/{code}", identity)


@router.post(
    "/plans/{plan_id}/customers/{customer_id}/compute",
    response_model=Computed,
    tags=["plans"],
    responses=PLAN_SUBMITTED,
)
async def compute_segments(
    plan_id: str,
    customer_id: str,
    edit: ProfileEdit,
    services: Services,
    identity: CurrentIdentity,
) -> dict[str, Any]:
    """Add/edit step 2: the segments the proposed profile values give, and whether the customer
    would then be in the plan's list, beside how things stand now. Nothing is saved."""
    await _check_editable(services, plan_id, customer_id, edit, identity)
    computed = await asyncio.gather(
        *(
            _ok(
                services.call(
                    "segmentation",
                    "POST",
                    f"/profiles/{customer_id}/{code}/compute",
                    identity,
                    json={"values": values},
                )
            )
            for code, values in edit.profiles.items()
        )
    )
    proposed = {c["segmentation"]: c["proposed"]["segment"] for c in computed}
    current, after = await asyncio.gather(
        _ok(services.call("lists", "GET", f"/plans/{plan_id}/explain/{customer_id}", identity)),
        _ok(
            services.call(
                "lists",
                "POST",
                f"/plans/{plan_id}/explain/{customer_id}",
                identity,
                json={"segments": proposed},
            )
        ),
    )
    return {
        "customer_id": customer_id,
        "segmentations": {c["segmentation"]: c for c in computed},
        "membership": {"current": current, "proposed": after},
    }


@router.put(
    "/plans/{plan_id}/customers/{customer_id}/profiles",
    response_model=Saved,
    tags=["plans"],
    responses=PLAN_SUBMITTED,
)
async def save_profiles(
    plan_id: str,
    customer_id: str,
    edit: ProfileEdit,
    services: Services,
    identity: CurrentIdentity,
) -> dict[str, Any]:
    """Add/edit step 3: save the profile values. Segments are recomputed and the plan's list
    follows by events (poll the list or explain to see it)."""
    await _check_editable(services, plan_id, customer_id, edit, identity)
    saved = {}
    for code, values in edit.profiles.items():
        result = await _ok(
            services.call(
                "segmentation",
                "PUT",
                f"/profiles/{customer_id}/{code}",
                identity,
                json={"values": values},
            )
        )
        saved[code] = result["segmentations"].get(code)
    return {"customer_id": customer_id, "segmentations": saved}


SEARCH_PAGE = 500
ADD_CHUNK = 5_000


async def _matching_ids(
    services: Upstreams, path: str, params: dict[str, Any], identity: Identity
) -> list[str]:
    """Every customer id a (saved) search of the customer service finds now."""
    ids: list[str] = []
    cursor = None
    while True:
        page_params = {**params, "limit": SEARCH_PAGE, **({"cursor": cursor} if cursor else {})}
        page = await _ok(services.call("customer", "GET", path, identity, params=page_params))
        ids += [item["id"] for item in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


async def _add(services: Upstreams, list_id: str, ids: list[str], identity: Identity) -> dict:
    totals = {"added": 0, "already_listed": 0, "unknown": []}
    for start in range(0, len(ids), ADD_CHUNK):
        result = await _ok(
            services.call(
                "lists",
                "POST",
                f"/lists/{list_id}/customers",
                identity,
                json={"customer_ids": ids[start : start + ADD_CHUNK]},
                timeout=120,
            )
        )
        totals["added"] += result["added"]
        totals["already_listed"] += result["already_listed"]
        totals["unknown"] += result["unknown"]
    return totals


Text = Annotated[str, Query(min_length=1, max_length=100)]


@router.get("/lists", response_model=list[StaticList], tags=["lists"])
async def find_lists(
    services: Services,
    identity: CurrentIdentity,
    customer_id: Text | None = None,
    team: Text | None = None,
    kind: Literal["static", "group"] | None = None,
    name: Text | None = None,
) -> Response:
    """The static lists and groups the caller may see: every one, or a customer's lists, a
    team's groups, the lists with a name (regardless of case)."""
    given = {"customer_id": customer_id, "team": team, "kind": kind, "name": name}
    params = {k: v for k, v in given.items() if v}
    return await services.forward("lists", "GET", "/lists", identity, params=params)


@router.get("/lists/{list_id}/summary", response_model=ListSummary, tags=["lists"])
async def list_summary(list_id: str, services: Services, identity: CurrentIdentity) -> Response:
    """The list with how it would be used now: customers on it, kept and left out by its rules
    (suppressions, required traits, status), and how many for each reason."""
    return await services.forward("lists", "GET", f"/lists/{list_id}/summary", identity)


@router.get("/lists/{list_id}/customers", response_model=ListMemberPage, tags=["lists"])
async def list_members(
    list_id: str,
    services: Services,
    identity: CurrentIdentity,
    include_excluded: bool = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Response:
    """The customers the list uses now; ``include_excluded`` adds those its rules leave out,
    each with the reasons."""
    params: dict[str, Any] = {"include_excluded": str(include_excluded).lower(), "limit": limit}
    if cursor:
        params["cursor"] = cursor
    return await services.forward(
        "lists", "GET", f"/lists/{list_id}/customers", identity, params=params
    )


class CustomerIds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=10_000
    )


@router.post("/lists/{list_id}/customers", response_model=CustomersAdded, tags=["lists"])
async def add_list_customers(
    list_id: str, body: CustomerIds, services: Services, identity: CurrentIdentity
) -> Response:
    """Add customers by id; unknown ids are reported, not added."""
    return await services.forward(
        "lists",
        "POST",
        f"/lists/{list_id}/customers",
        identity,
        json=body.model_dump(),
        timeout=120,
    )


@router.post("/lists/{list_id}/add-matching", response_model=MatchingAdded, tags=["lists"])
async def add_matching(
    list_id: str, services: Services, identity: CurrentIdentity
) -> dict[str, Any]:
    """A group takes in the customers its saved search finds now (seed 002's "add customers who
    matched the criteria")."""
    group = await _ok(services.call("lists", "GET", f"/lists/{list_id}", identity))
    search_id = group.get("saved_search_id")
    if not search_id:
        raise Problem(
            f"list {list_id} has no saved search",
            status=422,
            code="no-saved-search",
            field="saved_search_id",
        )
    ids = await _matching_ids(services, f"/saved-searches/{search_id}/customers", {}, identity)
    return {"matched": len(ids), **await _add(services, list_id, ids, identity)}


class FromSearch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    list: dict[str, Any] = Field(description="The list's fields, as for POST /lists")
    criteria: dict[str, Any] = Field(description="Customer search criteria, as for /customers")
    confirm_count: int | None = Field(
        default=None,
        ge=0,
        description="The count a first call (without it) answered; the list is created only "
        "if the search still finds that many",
    )


class FromFulfilments(BaseModel):
    model_config = ConfigDict(extra="forbid")

    list: dict[str, Any] = Field(description="The list's fields, as for POST /lists")
    activity: str = Field(min_length=1, max_length=200, description="The fulfilment activity")
    confirm_count: int | None = Field(default=None, ge=0, description="As for from-search")


async def _confirmed_list(
    services: Upstreams,
    identity: Identity,
    response: Response,
    fields: dict[str, Any],
    ids: list[str],
    confirm_count: int | None,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """The two-step creation: the count first; the list once the caller confirms that count.
    A retry with the same Idempotency-Key gets the list created the first time (the lists
    service keeps the key); adding its customers again changes nothing."""
    if confirm_count is None:
        return {"count": len(ids), "created": False}
    if confirm_count != len(ids):
        raise Problem(
            f"the customers found now are {len(ids)}, not {confirm_count}",
            status=409,
            code="count-changed",
            count=len(ids),
        )
    created = await _ok(
        services.call(
            "lists",
            "POST",
            "/lists",
            identity,
            json=fields,
            headers=idempotency_header(idempotency_key),
        )
    )
    added = await _add(services, created["id"], ids, identity)
    response.status_code = 201
    return {"count": len(ids), "created": True, "list": created, **added}


@router.post(
    "/lists/from-search",
    response_model=ListFromSearch,
    response_model_exclude_unset=True,  # the count alone, until the list is created
    tags=["lists"],
    responses={
        201: {"description": "The list, created (the count held)"},
        409: {"description": "The count changed since the first call"},
    },
)
async def list_from_search(
    body: FromSearch,
    services: Services,
    identity: CurrentIdentity,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Create a static list from a search, in two steps: without ``confirm_count`` it answers
    the count; with it, it creates the list if the count still holds (409 otherwise)."""
    criteria = {k: v for k, v in body.criteria.items() if k not in ("limit", "cursor")}
    ids = await _matching_ids(services, "/customers", criteria, identity)
    fields = {**body.list, "source": "search"}
    return await _confirmed_list(
        services, identity, response, fields, ids, body.confirm_count, idempotency_key
    )


@router.post(
    "/lists/from-fulfilments",
    response_model=ListFromSearch,
    response_model_exclude_unset=True,  # the count alone, until the list is created
    tags=["lists"],
    responses={
        201: {"description": "The list, created (the count held)"},
        409: {"description": "The count changed since the first call"},
    },
)
async def list_from_fulfilments(
    body: FromFulfilments,
    services: Services,
    identity: CurrentIdentity,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Create a static list of the customers sent a fulfilment of an activity, confirmed by
    count as for from-search."""
    found = await _ok(
        services.call(
            "customer",
            "GET",
            "/fulfilments/customers",
            identity,
            params={"activity": body.activity},
        )
    )
    fields = {**body.list, "source": "fulfilment"}
    return await _confirmed_list(
        services,
        identity,
        response,
        fields,
        found["customer_ids"],
        body.confirm_count,
        idempotency_key,
    )


def _passthrough(
    service: str, prefix: str, summary: str, collection: tuple[str, ...] = ("GET", "POST")
) -> None:
    async def relay(request: Request, services: Services, identity: CurrentIdentity) -> Response:
        path = request.scope["path"].removeprefix(API_PREFIX)  # as sent: url.path drops a \n
        return await services.relay(request, service, path, identity)

    tag = prefix.strip("/")
    router.add_api_route(
        prefix,
        relay,
        methods=list(collection),
        summary=summary,
        tags=[tag],
        name=f"{tag}_collection",
    )
    router.add_api_route(
        prefix + "/{rest:path}",
        relay,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        summary=summary,
        tags=[tag],
        name=f"{tag}_resources",
    )


_passthrough(
    "segmentation",
    "/segmentations",
    "Segmentations: dimensions, profile values and segment rules (PUT with If-Match makes a "
    "new rule version and recomputes every customer; /preview counts without saving; "
    "/{code}/recomputes/{job} shows progress)",
)
_passthrough(
    "segmentation",
    "/profiles",
    "A customer's profile values and segments; PUT /{customer}/{segmentation} saves, "
    "POST .../compute previews, POST /bulk sets many",
)
_passthrough(
    "lists",
    "/teams",
    "Teams, their reps and territories (bricks)",
    collection=("POST",),  # GET /teams is typed above
)
_passthrough(
    "lists",
    "/lists",
    "Static lists and groups: POST creates; /{id} (PATCH with If-Match, DELETE), "
    "/{id}/customers.csv exports, DELETE /{id}/customers/{customer} removes, POST "
    "/{id}/import takes a CSV",
    collection=("POST",),  # GET /lists is typed above
)
_passthrough(
    "lists",
    "/plans",
    "Team plans and their lists: /customers (and .csv), /explain/{customer}, /lookup, "
    "manual add (POST /customers/{id}) and remove (DELETE), /submit, /snapshot",
    collection=("POST",),  # GET /plans is typed above
)
