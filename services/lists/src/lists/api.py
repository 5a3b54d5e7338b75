"""The lists service's HTTP API: teams, team plans, their lists, explain and the add/edit flow."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from contracts.customers import Brick
from contracts.text import PlainText
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError
from servicekit.auth import CurrentIdentity, require_role

from lists.export import csv_response
from lists.handlers import ListsService

teams = APIRouter(prefix="/teams", tags=["teams"])
plans = APIRouter(prefix="/plans", tags=["plans"])

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), PlainText
]


def service(request: Request) -> ListsService:
    return request.app.state.lists


Lists = Annotated[ListsService, Depends(service)]


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id
    name: Label
    bricks: Annotated[list[Brick], Field(max_length=5000)] = Field(
        description="The team's territory"
    )
    reps: list[Label] = []


class TeamChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Label | None = None
    bricks: Annotated[list[Brick], Field(max_length=5000)] | None = None
    reps: list[Label] | None = None


class TargetedSegment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    segmentation: Code
    segment: Code


class PlanFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segmentations: Annotated[list[Code], Field(min_length=1, max_length=20)]
    targeted_segments: Annotated[list[TargetedSegment], Field(min_length=1, max_length=200)]
    primary_address_only: bool = Field(
        default=True, description="Only primary addresses count (else any address)"
    )
    excluded_suppressions: list[Label] = Field(
        default_factory=list, description="Customers with any of these suppressions are left out"
    )

    @model_validator(mode="after")
    def _targets_assigned_segmentations(self) -> PlanFields:
        stray = sorted({t.segmentation for t in self.targeted_segments} - set(self.segmentations))
        if stray:
            raise PydanticCustomError(
                "segmentation_not_assigned",
                "targeted segments of segmentations the plan does not assign: {stray}",
                {"stray": ", ".join(stray), "fields": ["targeted_segments"]},
            )
        return self


class PlanIn(PlanFields):
    id: Id
    team_id: Id
    period: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}(-[A-Za-z0-9]{1,8})?$")] = Field(
        examples=["2026-Q4"]
    )


class Proposed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segments: dict[Code, Code | None] = Field(
        description="Segmentation -> the segment to assume (None: none)"
    )


def _plan_doc(body: PlanIn) -> dict[str, Any]:
    fields = body.model_dump(mode="json")
    plan_id = fields.pop("id")
    return {
        "_id": plan_id,
        **fields,
        "status": "draft",
        "version": 1,
        "additions": [],
        "removals": [],
    }


def shown(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], **{k: v for k, v in doc.items() if k != "_id"}}


@teams.post("", status_code=201)
async def create_team(body: TeamIn, lists: Lists, identity: CurrentIdentity) -> dict[str, Any]:
    require_role(identity, "manager", "admin")
    fields = body.model_dump(mode="json")
    return shown(await lists.create_team({"_id": fields.pop("id"), **fields}))


@teams.get("")
async def list_teams(lists: Lists, identity: CurrentIdentity) -> list[dict[str, Any]]:
    return [shown(t) for t in await lists.store.find("teams", {})]


@teams.get("/{team_id}")
async def get_team(team_id: str, lists: Lists, identity: CurrentIdentity) -> dict[str, Any]:
    return shown(await lists.team(team_id))


@teams.patch("/{team_id}")
async def change_team(
    team_id: str, body: TeamChange, lists: Lists, identity: CurrentIdentity
) -> dict[str, Any]:
    """Change the territory or reps; the team's plans' lists follow."""
    require_role(identity, "manager", "admin")
    return shown(await lists.change_team(team_id, body.model_dump(exclude_none=True), identity))


@plans.post("", status_code=201)
async def create_plan(body: PlanIn, lists: Lists, identity: CurrentIdentity) -> dict[str, Any]:
    """A draft plan; its list is built in the background and then kept current by events."""
    require_role(identity, "manager", "admin")
    return shown(await lists.create_plan(_plan_doc(body), identity))


@plans.get("")
async def list_plans(
    lists: Lists, identity: CurrentIdentity, team_id: str | None = None
) -> list[dict[str, Any]]:
    query = {"team_id": team_id} if team_id else {}
    docs = await lists.store.find("plans", query)
    return [shown(d) for d in docs if identity.can_act_for_team(d["team_id"])]


@plans.get("/{plan_id}")
async def get_plan(plan_id: str, lists: Lists, identity: CurrentIdentity) -> dict[str, Any]:
    return shown((await lists.plan(plan_id, identity))[2])


@plans.put("/{plan_id}")
async def change_plan(
    plan_id: str, body: PlanFields, lists: Lists, identity: CurrentIdentity
) -> dict[str, Any]:
    """Change a draft plan's segmentations, targets or options; its list follows."""
    require_role(identity, "manager", "admin")
    return shown(await lists.change_plan(plan_id, body.model_dump(mode="json"), identity))


@plans.post("/{plan_id}/submit")
async def submit_plan(plan_id: str, lists: Lists, identity: CurrentIdentity) -> dict[str, Any]:
    """Submit the plan: its list is frozen in a snapshot and can no longer be edited."""
    return shown(await lists.submit(plan_id, identity))


@plans.post("/{plan_id}/reopen")
async def reopen_plan(plan_id: str, lists: Lists, identity: CurrentIdentity) -> dict[str, Any]:
    """Reopen a submitted plan (a manager of its team, or an admin): a draft again, recorded in
    ``reopened`` (who, when); its list catches up with what changed while it was locked."""
    return shown(await lists.reopen(plan_id, identity))


def _filters(segmentation: str | None, segment: str | None, brick: str | None) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if segmentation and segment:
        filters[f"segments.{segmentation}"] = segment
    if brick:
        filters["bricks"] = brick
    return filters


Limit = Annotated[int, Query(ge=1, le=1000)]


@plans.get("/{plan_id}/customers")
async def list_customers(
    plan_id: str,
    lists: Lists,
    identity: CurrentIdentity,
    segmentation: Code | None = None,
    segment: Code | None = None,
    brick: Brick | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """The plan's list, paged by customer id, filterable by segment and brick."""
    return await lists.members(
        plan_id, identity, _filters(segmentation, segment, brick), cursor, limit
    )


@plans.get("/{plan_id}/snapshot")
async def snapshot(
    plan_id: str,
    lists: Lists,
    identity: CurrentIdentity,
    cursor: str | None = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """The list as it was when the plan was submitted, each member with its reasons."""
    return await lists.members(plan_id, identity, {}, cursor, limit, snapshot=True)


EXPORT_COLUMNS = ("customer_id", "mdm_code", "name", "kind", "bricks", "segments", "since")


@plans.get("/{plan_id}/customers.csv", response_class=StreamingResponse)
async def export_customers(
    plan_id: str,
    lists: Lists,
    identity: CurrentIdentity,
    segmentation: Code | None = None,
    segment: Code | None = None,
    brick: Brick | None = None,
) -> StreamingResponse:
    filters = _filters(segmentation, segment, brick)
    await lists.plan(plan_id, identity)

    async def pages(cursor: str | None) -> dict[str, Any]:
        return await lists.members(plan_id, identity, filters, cursor, 500)

    return csv_response(pages, EXPORT_COLUMNS, f"{plan_id}.csv")


@plans.get("/{plan_id}/explain/{customer_id}")
async def explain(
    plan_id: str, customer_id: str, lists: Lists, identity: CurrentIdentity
) -> dict[str, Any]:
    """Whether the customer is in the list and, if not, every reason (stable codes)."""
    return await lists.explain(plan_id, customer_id, identity)


@plans.post("/{plan_id}/explain/{customer_id}")
async def explain_what_if(
    plan_id: str, customer_id: str, body: Proposed, lists: Lists, identity: CurrentIdentity
) -> dict[str, Any]:
    """The decision the customer would get with the proposed segments (nothing saved)."""
    return await lists.explain(plan_id, customer_id, identity, body.segments)


@plans.get("/{plan_id}/lookup")
async def lookup(
    plan_id: str,
    lists: Lists,
    identity: CurrentIdentity,
    mdm_code: Annotated[str, Query(min_length=1, max_length=64)],
    kind: Literal["person", "account"] = "person",
) -> dict[str, Any]:
    """Add/edit step 1: the customer (or account) with this MDM code, as the plan sees it."""
    return await lists.lookup(plan_id, mdm_code, kind, identity)


@plans.get("/{plan_id}/editable/{customer_id}", status_code=204)
async def check_edit(
    plan_id: str,
    customer_id: str,
    lists: Lists,
    identity: CurrentIdentity,
    segmentation: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies it)
) -> Response:
    """204 if the add/edit flow may change this customer (and these segmentations' profile
    values) for this plan, else the problem."""
    await lists.check_edit(plan_id, customer_id, identity, segmentation)
    return Response(status_code=204)


@plans.post("/{plan_id}/customers/{customer_id}")
async def add_customer(
    plan_id: str, customer_id: str, lists: Lists, identity: CurrentIdentity
) -> dict[str, Any]:
    """Add a customer to a draft plan's list by hand."""
    return await lists.add_or_remove(plan_id, customer_id, True, identity)


@plans.delete("/{plan_id}/customers/{customer_id}")
async def remove_customer(
    plan_id: str, customer_id: str, lists: Lists, identity: CurrentIdentity
) -> dict[str, Any]:
    """Remove a customer from a draft plan's list by hand."""
    return await lists.add_or_remove(plan_id, customer_id, False, identity)
