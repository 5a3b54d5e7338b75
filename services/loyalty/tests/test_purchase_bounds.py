"""The bounds a purchase keeps to be recorded, as settings set them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts.commerce import PurchaseMade
from loyalty.purchase_bounds import breaches
from loyalty.settings import LoyaltySettings

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SETTINGS = LoyaltySettings(
    env="dev",
    purchase_max_lines=2,
    purchase_max_quantity=10,
    purchase_max_line_amount=500,
    purchase_max_total=800,
    purchase_max_age_days=30,
    purchase_max_ahead_seconds=60,
)


def purchase(lines: list[dict], at: datetime = NOW) -> PurchaseMade:
    return PurchaseMade(order_id="O-1", customer_id="c1", lines=lines, purchased_at=at)


def line(amount: str, quantity: int = 1) -> dict:
    return {"product": "p", "category": "c", "quantity": quantity, "amount": amount}


def fields(p: PurchaseMade) -> list[tuple]:
    return [b.field for b in breaches(p, SETTINGS, NOW)]


def test_a_purchase_within_every_bound_passes() -> None:
    assert fields(purchase([line("500", 10), line("300")], NOW - timedelta(days=30))) == []
    assert fields(purchase([line("1")], NOW + timedelta(seconds=60))) == []


def test_each_bound_names_its_field() -> None:
    assert fields(purchase([line("1")] * 3)) == [("lines",)]
    assert fields(purchase([line("1", 11)])) == [("lines", 0, "quantity")]
    assert fields(purchase([line("1"), line("500.01")])) == [("lines", 1, "amount")]
    assert fields(purchase([line("500"), line("301")])) == [("lines",)]  # the total
    assert fields(purchase([line("1")], NOW + timedelta(minutes=2))) == [("purchased_at",)]
    assert fields(purchase([line("1")], NOW - timedelta(days=31))) == [("purchased_at",)]


def test_a_time_without_zone_is_read_as_utc() -> None:
    assert fields(purchase([line("1")], datetime(2026, 11, 30, 12, 0))) == []
