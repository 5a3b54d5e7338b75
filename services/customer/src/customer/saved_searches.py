"""Saved searches: named customer search criteria that people, groups and lists reuse.

Its owner (or an admin) changes or deletes one; it can be shared with teams, whose members may
read and run it: the caller's own teams (an admin's: any), which must exist. A name is unique,
regardless of case, among one owner's searches and among the searches shared into a team; one
team's private names are no other's business.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from contracts.customers import CustomerPage, CustomerSearch
from contracts.text import PlainText
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure
from servicekit.auth import CurrentIdentity, Identity
from servicekit.problems import Conflict, Forbidden, Invalid, NotFound

from customer import export
from customer.api import Customers
from customer.teams import TeamReplica

SAVED_SEARCHES = "saved_searches"
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), PlainText
]
Team = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class SavedSearchInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Annotated[str, StringConstraints(max_length=1000)] | None = None
    criteria: CustomerSearch = Field(description="As for GET /customers; limit and cursor unused")
    teams: list[Team] = Field(default_factory=list, description="Teams that may use it")


class SavedSearch(SavedSearchInput):
    model_config = ConfigDict(extra="ignore")

    id: str
    owner: str
    created_at: datetime
    updated_at: datetime


class SavedSearchStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.searches = db[SAVED_SEARCHES]

    async def create_indexes(self) -> None:
        # Names were once unique over everyone's searches: that index goes.
        try:
            await self.searches.drop_index("name_unique")
        except OperationFailure:
            pass  # not there
        await self.searches.create_index(
            [("owner", ASCENDING), ("name_key", ASCENDING)], unique=True, name="owner_name_unique"
        )
        # a rep's list: theirs or their teams' (each branch of the $or by its own index)
        await self.searches.create_index([("owner", ASCENDING)], name="owner")
        await self.searches.create_index([("teams", ASCENDING)], name="teams")

    async def insert(self, doc: dict[str, Any]) -> None:
        await self.searches.insert_one(doc)

    async def get(self, search_id: str) -> dict[str, Any] | None:
        return await self.searches.find_one({"_id": search_id})

    async def replace(self, doc: dict[str, Any]) -> None:
        await self.searches.replace_one({"_id": doc["_id"]}, doc)

    async def delete(self, search_id: str) -> None:
        await self.searches.delete_one({"_id": search_id})

    async def visible_to(self, identity: Identity) -> list[dict[str, Any]]:
        query: dict[str, Any] = {}
        if identity.role != "admin":
            query = {"$or": [{"owner": identity.user}, {"teams": {"$in": sorted(identity.teams)}}]}
        return await self.searches.find(query).sort("name_key").to_list()

    async def named_in_teams(self, name_key: str, teams: list[str], but: str) -> bool:
        """Whether another search shared into one of ``teams`` has this name."""
        if not teams:
            return False
        query = {"teams": {"$in": teams}, "name_key": name_key, "_id": {"$ne": but}}
        return await self.searches.find_one(query, {"_id": 1}) is not None


def _public(doc: dict[str, Any]) -> SavedSearch:
    return SavedSearch.model_validate({**doc, "id": doc["_id"]})


def _may_read(doc: dict[str, Any], identity: Identity) -> bool:
    return (
        identity.role == "admin"
        or doc["owner"] == identity.user
        or bool(set(doc.get("teams", [])) & identity.teams)
    )


def _may_change(doc: dict[str, Any], identity: Identity) -> bool:
    return identity.role == "admin" or doc["owner"] == identity.user


router = APIRouter(prefix="/saved-searches", tags=["saved searches"])


def store(request: Request) -> SavedSearchStore:
    return request.app.state.saved_searches


Store = Annotated[SavedSearchStore, Depends(store)]


def team_replica(request: Request) -> TeamReplica:
    return request.app.state.teams


Teams = Annotated[TeamReplica, Depends(team_replica)]


async def _check_teams(teams: TeamReplica, shared: list[str], identity: Identity) -> None:
    """Shared only into teams that exist (422 naming the field) and are the caller's (403)."""
    unknown = set(await teams.unknown(shared))
    if unknown:
        raise Invalid.from_errors(
            [
                {"loc": ("teams", i), "msg": "no such team", "type": "unknown_team"}
                for i, team in enumerate(shared)
                if team in unknown
            ]
        )
    if not all(identity.can_act_for_team(team) for team in shared):
        raise Forbidden("not allowed")


async def _readable(
    searches: SavedSearchStore, search_id: str, identity: Identity
) -> dict[str, Any]:
    doc = await searches.get(search_id)
    if doc is None or not _may_read(doc, identity):
        raise NotFound(f"no saved search {search_id}", code="saved-search-not-found")
    return doc


async def _save(searches: SavedSearchStore, doc: dict[str, Any], new: bool) -> None:
    taken = Conflict(f"a saved search is already named {doc['name']!r}", field="name")
    if await searches.named_in_teams(doc["name_key"], doc.get("teams", []), doc["_id"]):
        raise taken
    try:
        await (searches.insert(doc) if new else searches.replace(doc))
    except DuplicateKeyError as exc:
        raise taken from exc


@router.post("", status_code=201, response_model=SavedSearch)
async def create(
    body: SavedSearchInput, searches: Store, teams: Teams, identity: CurrentIdentity
) -> SavedSearch:
    await _check_teams(teams, body.teams, identity)
    now = datetime.now(UTC)
    doc = {
        "_id": str(uuid.uuid4()),
        **body.model_dump(mode="json", exclude_none=True),
        "name_key": body.name.casefold(),
        "owner": identity.user,
        "created_at": now,
        "updated_at": now,
    }
    await _save(searches, doc, new=True)
    return _public(doc)


@router.get("", response_model=list[SavedSearch])
async def list_saved(searches: Store, identity: CurrentIdentity) -> list[SavedSearch]:
    """Yours and your teams' (admins see all)."""
    return [_public(d) for d in await searches.visible_to(identity)]


@router.get("/{search_id}", response_model=SavedSearch)
async def read(search_id: str, searches: Store, identity: CurrentIdentity) -> SavedSearch:
    return _public(await _readable(searches, search_id, identity))


@router.put("/{search_id}", response_model=SavedSearch)
async def change(
    search_id: str,
    body: SavedSearchInput,
    searches: Store,
    teams: Teams,
    identity: CurrentIdentity,
) -> SavedSearch:
    doc = await _readable(searches, search_id, identity)
    if not _may_change(doc, identity):
        raise Forbidden("only its owner or an admin changes a saved search", code="not-owner")
    await _check_teams(teams, body.teams, identity)
    doc = {
        **{k: doc[k] for k in ("_id", "owner", "created_at")},
        **body.model_dump(mode="json", exclude_none=True),
        "name_key": body.name.casefold(),
        "updated_at": datetime.now(UTC),
    }
    await _save(searches, doc, new=False)
    return _public(doc)


@router.delete("/{search_id}", status_code=204)
async def delete(search_id: str, searches: Store, identity: CurrentIdentity) -> Response:
    doc = await _readable(searches, search_id, identity)
    if not _may_change(doc, identity):
        raise Forbidden("only its owner or an admin deletes a saved search", code="not-owner")
    await searches.delete(search_id)
    return Response(status_code=204)


def _criteria(doc: dict[str, Any], limit: int, cursor: str | None) -> CustomerSearch:
    return CustomerSearch.model_validate({**doc["criteria"], "limit": limit, "cursor": cursor})


@router.get("/{search_id}/customers", response_model=CustomerPage)
async def run(
    search_id: str,
    searches: Store,
    customers: Customers,
    identity: CurrentIdentity,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> CustomerPage:
    """The customers it finds now (a preview), paged like the search."""
    doc = await _readable(searches, search_id, identity)
    return await customers.search(_criteria(doc, limit, cursor))


@router.get("/{search_id}/export.csv")
async def export_csv(
    search_id: str, searches: Store, customers: Customers, identity: CurrentIdentity
) -> Response:
    doc = await _readable(searches, search_id, identity)
    return StreamingResponse(
        export.csv_lines(customers.search, _criteria(doc, 500, None)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="customers.csv"'},
    )
