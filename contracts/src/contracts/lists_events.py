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
