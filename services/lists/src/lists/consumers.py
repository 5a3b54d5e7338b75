"""What the lists service consumes: customer events and segment assignments (co-partitioned, in
one subscriber, so one customer's records never race), and segmentation definitions."""

from __future__ import annotations

from contracts.topics import CUSTOMER_EVENTS, SEGMENT_ASSIGNMENTS, SEGMENTATION_DEFINITIONS
from servicekit.consuming import subscribe_batch
from servicekit.runtime import ServiceRuntime

from lists.handlers import ListsService


def subscribe(runtime: ServiceRuntime, lists: ListsService) -> None:
    assert runtime.broker is not None
    subscribe_batch(
        runtime.broker,
        runtime.publisher,
        runtime.settings,
        [CUSTOMER_EVENTS, SEGMENT_ASSIGNMENTS],
        group="lists-customers",
        handler=lists.on_customer_and_segment_events,
    )
    subscribe_batch(
        runtime.broker,
        runtime.publisher,
        runtime.settings,
        SEGMENTATION_DEFINITIONS,
        group="lists-segmentations",
        handler=lists.on_segmentation_events,
    )
