"""What the customer service consumes: MDM events from enterprise systems."""

from __future__ import annotations

from contracts.topics import MDM_CUSTOMERS
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
