"""What the segmentation service consumes: customer events (its replica of the record) and
loyalty events (the RFM stars that rules may read)."""

from __future__ import annotations

from contracts.topics import CUSTOMER_EVENTS, LOYALTY_EVENTS
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
