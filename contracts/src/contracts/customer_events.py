"""Events the customer service publishes on ``customer.events``, keyed by customer id.

They carry the customer's state after the change (event-carried state), so other services keep
their own replica without calling back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.customers import Customer
from contracts.events import Event

Origin = Literal["api", "mdm", "import"]


class FieldChange(BaseModel):
    """One field's value before and after a change (``None``: absent)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    field: str
    old: Any = None
    new: Any = None


class CustomerChanged(Event):
    """What every change of a record carries: the state after it, and what changed, by whom."""

    customer: Customer
    origin: Origin
    changes: list[FieldChange] = Field(default_factory=list)
    changed_by: str | None = Field(
        default=None, description="The user, or the MDM event (source and id), behind the change"
    )


class CustomerRegistered(CustomerChanged):
    TYPE = "cdp.customer.CustomerRegistered"


class CustomerUpdated(CustomerChanged):
    """Fields changed, including a status change between active and suspended."""

    TYPE = "cdp.customer.CustomerUpdated"

    changed_fields: list[str]


class CustomerDeactivated(CustomerChanged):
    """The customer became void (inactive): an MDM deactivation or a manual void."""

    TYPE = "cdp.customer.CustomerDeactivated"


class CustomersMerged(CustomerChanged):
    """``customer`` (the survivor) absorbed ``merged_customer_id``: whatever a service holds on
    the merged customer now belongs to the survivor. The merged record becomes void, with
    ``merged_into`` naming the survivor (its own CustomerDeactivated follows)."""

    TYPE = "cdp.customer.CustomersMerged"

    merged_customer_id: str
    merged_mdm_code: str | None = None


class CustomerErased(Event):
    """A privacy erasure: every service deletes what it holds on the customer, and keeps only the
    id as a tombstone so that a replay of older events does not bring the customer back."""

    TYPE = "cdp.customer.CustomerErased"

    customer_id: str
    mdm_code: str | None = None
    erased_at: datetime
