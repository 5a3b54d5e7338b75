"""What the customer service consumes: MDM events from enterprise systems, and its own customer
events (to keep the change history, off the request path)."""

from __future__ import annotations

from contracts.topics import CUSTOMER_EVENTS, MDM_CUSTOMERS
from servicekit.consuming import subscribe_batch
from servicekit.runtime import ServiceRuntime

from customer.handlers import CustomerService


def subscribe(runtime: ServiceRuntime, customers: CustomerService) -> None:
    assert runtime.broker is not None
    subscribe_batch(
        runtime.broker,
        runtime.publisher,
        runtime.settings,
        MDM_CUSTOMERS,
        group="customer-mdm-ingest",
        handler=customers.ingest_mdm,
    )
    subscribe_batch(
        runtime.broker,
        runtime.publisher,
        runtime.settings,
        CUSTOMER_EVENTS,
        group="customer-history",
        handler=customers.record_history,
    )
