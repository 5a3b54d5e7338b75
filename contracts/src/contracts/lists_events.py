"""Events the lists service publishes on ``lists.events``, keyed by customer id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.events import Event


class Reason(BaseModel):
    """Why a customer is out of a list (or, for ``manually-added``, in it despite the rules).

    ``code`` is stable: no-address-in-bricks, not-segmented, segment-not-targeted,
    account-segments-not-targeted, inactive, suppressed, manually-removed, manually-added."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str
    detail: str
    data: dict[str, Any] = Field(default_factory=dict)


class ListMembershipChanged(Event):
    """A customer entered or left a team plan's list, with the lineage of the decision."""

    TYPE = "cdp.lists.ListMembershipChanged"

    plan_id: str
    team_id: str
    customer_id: str
    member: bool
    reasons: list[Reason] = Field(
        default_factory=list, description="Why out (or why in against the rules)"
    )
    rule_versions: dict[str, int] = Field(
        default_factory=dict, description="Segmentation code -> rule version decided on"
    )
    caused_by: str | None = Field(
        default=None, description="The id of the event, or the user, behind the change"
    )
    decided_at: datetime


class TeamChanged(Event):
    """A team's state after a change (created, renamed, its territory or reps changed), on
    ``lists.teams`` (compacted, keyed by team id): other services scope by their replica of it.
    ``version`` increases with every change: apply only a newer one."""

    TYPE = "cdp.lists.TeamChanged"

    team_id: str
    name: str
    bricks: list[str] = Field(default_factory=list, description="The team's territory")
    reps: list[str] = Field(default_factory=list)
    version: int


class PlanChanged(Event):
    """A team plan's state after a change (created, changed, submitted, reopened), on
    ``lists.plans`` (compacted, keyed by plan id). ``version`` increases with every change."""

    TYPE = "cdp.lists.PlanChanged"

    plan_id: str
    team_id: str
    period: str
    segmentations: list[str]
    primary_address_only: bool = True
    status: str = Field(description="draft or submitted")
    version: int
