"""Segmentation and targeting lists through the gateway: the services' own routes passed
through, and the seed-000 add/edit flow, which spans both services.

The flow's rules (a draft plan, an active customer, accounts only when the plan targets account
segments) live in the lists service: each step asks it first, then the segmentation service
computes or saves, and the list follows by events; nothing here decides membership.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from servicekit.auth import CurrentIdentity, Identity
from servicekit.problems import Problem

from gateway.upstream import API_PREFIX, Upstreams

router = APIRouter(prefix=API_PREFIX)
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


@router.post("/plans/{plan_id}/customers/{customer_id}/compute", tags=["plans"])
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


@router.put("/plans/{plan_id}/customers/{customer_id}/profiles", tags=["plans"])
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


@router.post("/lists/{list_id}/add-matching", tags=["lists"])
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
) -> dict[str, Any]:
    """The two-step creation: the count first; the list once the caller confirms that count."""
    if confirm_count is None:
        return {"count": len(ids), "created": False}
    if confirm_count != len(ids):
        raise Problem(
            f"the customers found now are {len(ids)}, not {confirm_count}",
            status=409,
            code="count-changed",
            count=len(ids),
        )
    created = await _ok(services.call("lists", "POST", "/lists", identity, json=fields))
    added = await _add(services, created["id"], ids, identity)
    response.status_code = 201
    return {"count": len(ids), "created": True, "list": created, **added}


@router.post(
    "/lists/from-search",
    tags=["lists"],
    responses={
        201: {"description": "The list, created (the count held)"},
        409: {"description": "The count changed since the first call"},
    },
)
async def list_from_search(
    body: FromSearch, services: Services, identity: CurrentIdentity, response: Response
) -> dict[str, Any]:
    """Create a static list from a search, in two steps: without ``confirm_count`` it answers
    the count; with it, it creates the list if the count still holds (409 otherwise)."""
    criteria = {k: v for k, v in body.criteria.items() if k not in ("limit", "cursor")}
    ids = await _matching_ids(services, "/customers", criteria, identity)
    fields = {**body.list, "source": "search"}
    return await _confirmed_list(services, identity, response, fields, ids, body.confirm_count)


@router.post(
    "/lists/from-fulfilments",
    tags=["lists"],
    responses={
        201: {"description": "The list, created (the count held)"},
        409: {"description": "The count changed since the first call"},
    },
)
async def list_from_fulfilments(
    body: FromFulfilments, services: Services, identity: CurrentIdentity, response: Response
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
        services, identity, response, fields, found["customer_ids"], body.confirm_count
    )


def _passthrough(service: str, prefix: str, summary: str) -> None:
    async def relay(request: Request, services: Services, identity: CurrentIdentity) -> Response:
        path = request.scope["path"].removeprefix(API_PREFIX)  # as sent: url.path drops a \n
        return await services.relay(request, service, path, identity)

    tag = prefix.strip("/")
    router.add_api_route(
        prefix,
        relay,
        methods=["GET", "POST"],
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
_passthrough("lists", "/teams", "Teams, their reps and territories (bricks)")
_passthrough(
    "lists",
    "/lists",
    "Static lists and groups: ?customer_id= gives a customer's lists; /{id}/customers (rules "
    "applied; include_excluded=true shows who is left out and why), .csv export, POST "
    "/{id}/customers adds, DELETE removes, POST /{id}/import takes a CSV",
)
_passthrough(
    "lists",
    "/plans",
    "Team plans and their lists: /customers (and .csv), /explain/{customer}, /lookup, "
    "manual add (POST /customers/{id}) and remove (DELETE), /submit, /snapshot",
)
