"""Events the customer service publishes on ``customer.events``, keyed by customer id.

They carry the customer's state after the change (event-carried state), so other services keep
their own replica without calling back.
"""

from __future__ import annotations

from typing import Literal

from contracts.customers import Customer
from contracts.events import Event

Origin = Literal["api", "mdm", "import"]


class CustomerRegistered(Event):
    TYPE = "cdp.customer.CustomerRegistered"

    customer: Customer
    origin: Origin


class CustomerUpdated(Event):
    TYPE = "cdp.customer.CustomerUpdated"

    customer: Customer
    changed_fields: list[str]
    origin: Origin


class CustomerDeactivated(Event):
    """The customer became void (inactive): an MDM deactivation or a manual void."""

    TYPE = "cdp.customer.CustomerDeactivated"

    customer: Customer
    origin: Origin
