"""What the segmentation service consumes: customer events (its replica of the record), loyalty
events (the RFM stars that rules may read), and the lists service's teams and plans (whose lists
a profile edit can move)."""

from __future__ import annotations

from contracts.topics import CUSTOMER_EVENTS, LISTS_PLANS, LISTS_TEAMS, LOYALTY_EVENTS
from servicekit.consuming import subscribe_batch
from servicekit.runtime import ServiceRuntime

from segmentation.handlers import SegmentationService


def subscribe(runtime: ServiceRuntime, segmentation: SegmentationService) -> None:
    assert runtime.broker is not None
    subscribe_batch(
        runtime.broker,
        runtime.publisher,
        runtime.settings,
        CUSTOMER_EVENTS,
        group="segmentation-customers",
        handler=segmentation.on_customer_events,
    )
    subscribe_batch(
        runtime.broker,
        runtime.publisher,
        runtime.settings,
        LOYALTY_EVENTS,
        group="segmentation-loyalty",
        handler=segmentation.on_loyalty_events,
    )
    subscribe_batch(
        runtime.broker,
        runtime.publisher,
        runtime.settings,
        [LISTS_TEAMS, LISTS_PLANS],
        group="segmentation-teams",
        handler=segmentation.team_scope.on_team_and_plan_events,
    )
