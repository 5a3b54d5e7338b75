"""Events the segmentation service publishes.

``segmentation.definitions`` (keyed by segmentation code) carries each segmentation's current
definition; ``segmentation.assignments`` (keyed by customer id) carries a customer's segments and
profile values in every segmentation whenever one of them changes (event-carried state).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.events import Event
from contracts.limits import INT64_MAX

SegmentationLevel = Literal["customer", "account"]
AssignmentCause = Literal[
    "profile-edit", "customer-change", "rule-change", "merge", "metrics-change"
]


class SegmentationDefined(Event):
    """A segmentation was created or its dimensions or segment rules changed (a new version)."""

    TYPE = "cdp.segmentation.SegmentationDefined"

    code: str
    name: str
    level: SegmentationLevel
    version: int = Field(
        ge=1, le=INT64_MAX, description="The rule version; increases with every change"
    )
    dimensions: dict[str, list[str]] = Field(description="Dimension -> allowed profile values")
    segments: list[str] = Field(description="Segment codes, in priority order")


class Assignment(BaseModel):
    """A customer's state in one segmentation."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    segmentation: str
    segment: str | None = Field(
        default=None, description="The segment the customer falls in; None (or absent): none"
    )
    rule_version: int
    profile: dict[str, str] = Field(default_factory=dict)


class SegmentsAssigned(Event):
    """A customer's segments or profile values changed in at least one segmentation.

    ``revision`` increases with every change of the customer's assignments, so a consumer can
    drop a stale replay; ``assignments`` holds every segmentation the customer is known in."""

    TYPE = "cdp.segmentation.SegmentsAssigned"

    customer_id: str
    revision: int = Field(ge=1, le=INT64_MAX)
    assignments: list[Assignment]
    changed: list[str] = Field(description="Codes of the segmentations that changed")
    cause: AssignmentCause
    caused_by: str | None = Field(
        default=None, description="The user, or the id of the event, behind the change"
    )

    def assignment(self, segmentation: str) -> Assignment | None:
        return next((a for a in self.assignments if a.segmentation == segmentation), None)

    def as_replica(self) -> dict[str, Any]:
        return {a.segmentation: a.model_dump(exclude={"segmentation"}) for a in self.assignments}
