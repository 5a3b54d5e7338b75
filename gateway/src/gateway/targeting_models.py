"""The shapes of seed 000's targeting answers (plans, their lists, explain, the add/edit flow),
for the OpenAPI document and the console's generated client.

The lists and segmentation services send these; the gateway passes them on without validating
them again. Like the 360's models (``view_models``), each lists the fields the console relies on
and allows the rest, so a service may add fields. Reasons are the lists service's published
``contracts.lists_events.Reason``.
"""

from __future__ import annotations

from typing import Any, Literal

from contracts.lists_events import Reason
from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class TargetedSegment(Open):
    segmentation: str
    segment: str


class Reopening(Open):
    by: str | None = None
    at: str | None = None


class Team(Open):
    """A sales team: its territory (bricks) and its reps."""

    id: str
    name: str
    bricks: list[str] = Field(description="The team's territory")
    reps: list[str] = []
    version: int | None = None


class Plan(Open):
    id: str
    team_id: str
    period: str
    segmentations: list[str]
    targeted_segments: list[TargetedSegment]
    primary_address_only: bool
    excluded_suppressions: list[str] = []
    status: Literal["draft", "submitted"]
    version: int
    submitted_at: str | None = None
    submitted_by: str | None = None
    reopened: list[Reopening] = []
    snapshot_members: int | None = Field(
        default=None, description="How many customers the list held when it was submitted"
    )


class PlanMember(Open):
    """A customer in (or, in a snapshot, decided for) a plan's list."""

    customer_id: str
    member: bool
    name: str | None = None
    mdm_code: str | None = None
    kind: str | None = None
    bricks: list[str] = Field(description="The customer's bricks that count for the plan")
    segments: dict[str, str | None] = Field(description="Segmentation -> the customer's segment")
    reasons: list[Reason] = []
    since: str | None = Field(default=None, description="When the customer entered the list")


class PlanMemberPage(BaseModel):
    items: list[PlanMember]
    next_cursor: str | None = Field(default=None, description="Pass as cursor for the next page")


class ExplainedCustomer(Open):
    name: str | None = None
    kind: str
    status: str
    bricks: list[str] = Field(description="The customer's bricks that count for the plan")
    segments: dict[str, str | None]


class Explanation(Open):
    """Whether a customer is in a plan's list and every reason why not (or why in by hand)."""

    plan_id: str
    customer_id: str
    in_list: bool
    reasons: list[Reason]
    customer: ExplainedCustomer | None = Field(
        description="As the lists service knows the customer; null: not known to it"
    )


class HeldSegmentation(Open):
    segment: str | None = None
    profile: dict[str, str] = {}
    targeted_segments: list[str] = Field(description="The segments the plan targets in it")


class Lookup(Open):
    """Add/edit step 1: the customer or account with an MDM code, as the plan sees it."""

    customer_id: str
    name: str | None = None
    kind: str
    mdm_code: str
    bricks: list[str]
    primary_address_only: bool
    segmentations: dict[str, HeldSegmentation] = Field(
        description="Per segmentation of the plan: segment, profile values, targeted segments"
    )
    membership: Explanation


class ProfileState(Open):
    profile: dict[str, str] = {}
    segment: str | None = None


class ComputedSegmentation(Open):
    segmentation: str
    current: ProfileState
    proposed: ProfileState


class Membership(BaseModel):
    current: Explanation
    proposed: Explanation


class Computed(BaseModel):
    """Add/edit step 2: segments and list membership now and with the proposed values."""

    customer_id: str
    segmentations: dict[str, ComputedSegmentation]
    membership: Membership


class Saved(BaseModel):
    customer_id: str
    segmentations: dict[str, Any] = Field(description="Per segmentation: its state after saving")


class Dimension(Open):
    name: str
    values: list[str]


class SegmentDefinition(Open):
    code: str
    name: str
    rule: dict[str, Any]


class Segmentation(Open):
    code: str
    name: str
    level: Literal["customer", "account"]
    dimensions: list[Dimension] = []
    segments: list[SegmentDefinition]
    version: int
