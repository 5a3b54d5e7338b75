"""What the loyalty service consumes: customer events (enrollment and leaving the program) and
purchases from the commerce systems, survey answers and communications sent."""

from __future__ import annotations

from contracts.topics import (
    CAMPAIGN_COMMUNICATIONS,
    COMMERCE_PURCHASES,
    CUSTOMER_EVENTS,
    FEEDBACK_RESPONSES,
)
from servicekit.consuming import subscribe_batch
from servicekit.runtime import ServiceRuntime

from loyalty.handlers import LoyaltyService


def subscribe(runtime: ServiceRuntime, loyalty: LoyaltyService) -> None:
    assert runtime.broker is not None
    subscribe_batch(
        runtime.broker,
        runtime.publisher,
        runtime.settings,
        CUSTOMER_EVENTS,
        group="loyalty-customers",
        handler=loyalty.on_customer_events,
    )
    subscribe_batch(
        runtime.broker,
        runtime.publisher,
        runtime.settings,
        COMMERCE_PURCHASES,
        group="loyalty-purchases",
        handler=loyalty.on_purchases,
    )
    subscribe_batch(
        runtime.broker,
        runtime.publisher,
        runtime.settings,
        [FEEDBACK_RESPONSES, CAMPAIGN_COMMUNICATIONS],
        group="loyalty-engagement",
        handler=loyalty.on_engagement,
    )
