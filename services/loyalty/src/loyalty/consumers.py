"""What the loyalty service consumes: customer events (enrollment and leaving the program) and
purchases from the commerce systems."""

from __future__ import annotations

from contracts.topics import COMMERCE_PURCHASES, CUSTOMER_EVENTS
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
