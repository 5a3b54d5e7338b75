"""HTTP routes of static lists and groups."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from contracts.text import PlainText
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError
from servicekit.auth import CurrentIdentity
from servicekit.problems import if_match_version

from lists.api import Lists as Plans
from lists.export import csv_response
from lists.static_lists import StaticListService

router = APIRouter(prefix="/lists", tags=["static lists and groups"])

Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), PlainText
]
Slug = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=50)
]
Usage = Literal["email", "mail", "phone", "sms", "fax", "other"]
Source = Literal["manual", "search", "import", "fulfilment"]


def service(request: Request) -> StaticListService:
    return request.app.state.static_lists


Lists = Annotated[StaticListService, Depends(service)]


class Owners(BaseModel):
    model_config = ConfigDict(extra="forbid")

    teams: list[Label] = []
    reps: list[Label] = []


class ListFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Label
    description: Annotated[str, StringConstraints(max_length=1000)] | None = None
    usage: Usage = "other"
    source: Source = "manual"
    excluded_suppressions: list[Slug] = Field(
        default_factory=list, description="Customers with any of these are left out"
    )
    required_traits: list[Slug] = Field(
        default_factory=list, description="Customers must have all of these"
    )
    kind: Literal["static", "group"] = "static"
    owners: Owners = Field(default_factory=Owners, description="Teams and reps (groups)")
    saved_search_id: str | None = Field(
        default=None, description="The saved search whose matches a group takes in"
    )
    available_to_all: bool = Field(
        default=False,
        description="A group readable by every back-office user (seed 002); changed by its "
        "owners only",
    )

    @model_validator(mode="after")
    def _only_groups_are_shared(self) -> ListFields:
        if self.available_to_all and self.kind != "group":
            raise PydanticCustomError(
                "group_only",
                "only a group can be available to all",
                {"fields": ["available_to_all"]},
            )
        return self


class ListChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Label | None = None
    description: Annotated[str, StringConstraints(max_length=1000)] | None = None
    usage: Usage | None = None
    excluded_suppressions: list[Slug] | None = None
    required_traits: list[Slug] | None = None
    owners: Owners | None = None
    saved_search_id: str | None = None
    available_to_all: bool | None = None


class CustomerIds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_ids: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=64)]],
        Field(min_length=1, max_length=10_000),
    ]


class ListCreate(ListFields):
    customer_ids: Annotated[list[str], Field(max_length=100_000)] = []


def shown(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], **{k: v for k, v in doc.items() if k != "_id"}}


@router.post("", status_code=201)
async def create_list(body: ListCreate, lists: Lists, identity: CurrentIdentity) -> dict[str, Any]:
    """A static list or group, optionally with its first customers."""
    fields = body.model_dump(mode="json", exclude={"customer_ids"})
    return shown(await lists.create(fields, body.customer_ids, identity))


@router.get("")
async def find_lists(
    lists: Lists,
    identity: CurrentIdentity,
    customer_id: str | None = None,
    team: str | None = None,
    kind: Literal["static", "group"] | None = None,
    name: Annotated[str, Query(min_length=1, max_length=100)] | None = None,
) -> list[dict[str, Any]]:
    """The lists the caller may see: every one, or a customer's lists (``customer_id``), a
    team's groups (``team``), the lists with a name (``name``, regardless of case)."""
    query: dict[str, Any] = {}
    if name:
        query.update(lists.store.name_query(name))
    if customer_id:
        ids = await lists.store.lists_of(customer_id)
        if not ids:
            return []  # in no list: nothing to ask the database
        query["_id"] = {"$in": ids}
    if team:
        query["owners.teams"] = team
    if kind:
        query["kind"] = kind
    return [shown(d) for d in await lists.find(query, identity)]


@router.get("/{list_id}")
async def get_list(
    list_id: str, lists: Lists, identity: CurrentIdentity, response: Response
) -> dict[str, Any]:
    doc = await lists.get(list_id, identity)
    response.headers["ETag"] = f'"{doc["version"]}"'
    return shown(doc)


@router.patch("/{list_id}")
async def change_list(
    list_id: str,
    body: ListChange,
    lists: Lists,
    identity: CurrentIdentity,
    if_match: Annotated[str | None, Header(alias="if-match")] = None,
) -> dict[str, Any]:
    version = if_match_version(if_match)
    assert version is not None
    fields = body.model_dump(mode="json", exclude_unset=True)
    return shown(await lists.change(list_id, version, fields, identity))


@router.delete("/{list_id}", status_code=204)
async def delete_list(list_id: str, lists: Lists, identity: CurrentIdentity) -> Response:
    await lists.delete(list_id, identity)
    return Response(status_code=204)


@router.get("/{list_id}/summary")
async def summary(list_id: str, lists: Lists, identity: CurrentIdentity) -> dict[str, Any]:
    """The list with how it would be used now: how many customers are on it, how many its
    rules keep (``included``) and leave out (``excluded``), and how many for each reason."""
    doc, counts = await lists.usage(list_id, identity)
    return {"list": shown(doc), **asdict(counts)}


@router.get("/{list_id}/customers")
async def list_customers(
    list_id: str,
    lists: Lists,
    identity: CurrentIdentity,
    include_excluded: bool = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """The customers the list uses now (its rules applied); ``include_excluded`` shows the ones
    it leaves out too, with the reasons."""
    return await lists.members(list_id, identity, include_excluded, cursor, limit)


@router.get("/{list_id}/customers.csv", response_class=StreamingResponse)
async def export_customers(
    list_id: str, lists: Lists, identity: CurrentIdentity
) -> StreamingResponse:
    await lists.get(list_id, identity)

    async def pages(cursor: str | None) -> dict[str, Any]:
        return await lists.members(list_id, identity, False, cursor, 500)

    return csv_response(pages, ("customer_id", "mdm_code", "name"), f"{list_id}.csv")


@router.get("/{list_id}/customer-ids")
async def customer_ids(list_id: str, lists: Lists, identity: CurrentIdentity) -> dict[str, Any]:
    """The ids of every customer on the list (rules not applied), e.g. to search within it."""
    await lists.get(list_id, identity)
    return {"customer_ids": await lists.store.all_customer_ids(list_id)}


@router.post("/{list_id}/customers")
async def add_customers(
    list_id: str, body: CustomerIds, lists: Lists, identity: CurrentIdentity
) -> dict[str, Any]:
    """Add customers by id; unknown ids are reported, not added."""
    return await lists.add(list_id, body.customer_ids, identity)


@router.delete("/{list_id}/customers/{customer_id}", status_code=204)
async def remove_customer(
    list_id: str, customer_id: str, lists: Lists, identity: CurrentIdentity
) -> Response:
    await lists.remove(list_id, customer_id, identity)
    return Response(status_code=204)


@router.post(
    "/{list_id}/import",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_customers(
    list_id: str, request: Request, lists: Lists, identity: CurrentIdentity
) -> dict[str, Any]:
    """A CSV with a customer_id or mdm_code column; a report of added and rejected rows."""
    return await lists.import_csv(list_id, await request.body(), identity)


customers = APIRouter(prefix="/customers", tags=["customers"])


@customers.get("/{customer_id}/lists")
async def lists_of_customer(
    customer_id: str, lists: Lists, plans: Plans, identity: CurrentIdentity
) -> dict[str, Any]:
    """Every list the customer is in that the caller may see: their teams' plans' lists (with
    the segments that put them there) and static lists and groups."""
    memberships = await plans.visible_memberships(customer_id, identity)
    ids = await lists.store.lists_of(customer_id)
    static = await lists.find({"_id": {"$in": ids}}, identity) if ids else []
    return {
        "plans": [
            {k: m.get(k) for k in ("plan_id", "since", "segments", "bricks", "reasons")}
            for m in memberships
        ],
        "lists": [{"id": d["_id"], "name": d["name"], "kind": d.get("kind")} for d in static],
    }
