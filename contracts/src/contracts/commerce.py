"""Purchases from the commerce systems (point of sale, web shop), on ``commerce.purchases``
keyed by customer id. Any CloudEvents SDK can publish them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.events import Event

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("10000000"), decimal_places=2)]


class PurchaseLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    product: Text
    category: Text
    quantity: Annotated[int, Field(ge=1, le=100_000)] = 1
    amount: Money = Field(description="The line's total, in the purchase's currency")


class PurchaseMade(Event):
    """An order paid by a customer; ``order_id`` is unique per order (a repeat is a duplicate)."""

    TYPE = "cdp.commerce.PurchaseMade"

    order_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
    customer_id: Text
    lines: Annotated[list[PurchaseLine], Field(min_length=1, max_length=500)]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "EUR"
    purchased_at: datetime
    store: Text | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


class PurchaseReturned(Event):
    """An order was returned in full: the points it earned are taken back."""

    TYPE = "cdp.commerce.PurchaseReturned"

    order_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
    customer_id: Text
    returned_at: datetime
    reason: Text | None = None
