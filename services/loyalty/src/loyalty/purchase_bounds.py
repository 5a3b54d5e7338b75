"""The bounds a purchase must keep to be recorded (settings ``CDP_PURCHASE_MAX_*``): lines,
quantities, amounts and the date. Every unit of currency mints points and tier status, so the
API and the commerce topic apply the same bounds; a purchase beyond them is refused, naming the
field (422 on the API, the reason on the dead-letter topic)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from contracts.commerce import PurchaseMade

from loyalty.settings import LoyaltySettings


@dataclass(frozen=True)
class Breach:
    field: tuple[str | int, ...]  # as pydantic names it: ("lines", 0, "amount")
    message: str
    type: str

    @property
    def reason(self) -> str:
        return f"{'.'.join(str(p) for p in self.field)}: {self.message}"


def breaches(purchase: PurchaseMade, settings: LoyaltySettings, now: datetime) -> list[Breach]:
    found = []
    if len(purchase.lines) > settings.purchase_max_lines:
        found.append(
            Breach(("lines",), f"at most {settings.purchase_max_lines} lines", "too_many_lines")
        )
    for i, line in enumerate(purchase.lines):
        if line.quantity > settings.purchase_max_quantity:
            found.append(
                Breach(
                    ("lines", i, "quantity"),
                    f"at most {settings.purchase_max_quantity}",
                    "quantity_too_large",
                )
            )
        if line.amount > settings.purchase_max_line_amount:
            found.append(
                Breach(
                    ("lines", i, "amount"),
                    f"at most {settings.purchase_max_line_amount}",
                    "amount_too_large",
                )
            )
    if purchase.total > Decimal(settings.purchase_max_total):
        found.append(
            Breach(
                ("lines",), f"the total is at most {settings.purchase_max_total}", "total_too_large"
            )
        )
    at = purchase.purchased_at
    if at.tzinfo is not None:  # a naive time is read as UTC, as the store does
        at = at.astimezone(now.tzinfo)
    else:
        at = at.replace(tzinfo=now.tzinfo)
    if at > now + timedelta(seconds=settings.purchase_max_ahead_seconds):
        found.append(Breach(("purchased_at",), "a purchase cannot be in the future", "future_date"))
    elif at < now - timedelta(days=settings.purchase_max_age_days):
        found.append(
            Breach(
                ("purchased_at",),
                f"at most {settings.purchase_max_age_days} days ago",
                "date_too_old",
            )
        )
    return found
