"""A predicted-value run's reading of purchase histories: page by page in customer order, every
purchase once, whatever the page size; and each history in the models' terms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from loyalty.predicted_value import histories
from loyalty.store import PointsStore
from loyalty.value_store import ValueStore

pytestmark = pytest.mark.servers

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def purchase(n: int, customer: str, days_ago: float, total: str) -> dict:
    return {
        "_id": f"o{n}",
        "customer_id": customer,
        "purchased_at": NOW - timedelta(days=days_ago),
        "total": total,
        "returned_at": None,
    }


@pytest.fixture
async def store(mongo_db) -> ValueStore:
    await PointsStore(mongo_db).create_indexes()
    counts = {"a": 1, "b": 7, "c": 2, "d": 12, "e": 3}  # d fills more than a page of 5
    docs, n = [], 0
    for customer, count in counts.items():
        for i in range(count):
            n += 1
            docs.append(purchase(n, customer, 100 - i * 3, "10"))
    docs.append({**purchase(999, "c", 1, "99"), "returned_at": NOW})  # returned: not counted
    await mongo_db.purchases.insert_many(docs)
    return ValueStore(mongo_db)


@pytest.mark.parametrize("page", [2, 5, 1000])
async def test_every_purchase_once_in_customer_order(store: ValueStore, page: int) -> None:
    read = [(d["customer_id"], d["_id"]) async for d in store.purchases_by_customer(page)]
    assert len(read) == 25 and len(set(read)) == 25
    assert [c for c, _ in read] == sorted(c for c, _ in read)


async def test_histories_in_weeks_with_one_purchase_a_day(mongo_db) -> None:
    await PointsStore(mongo_db).create_indexes()
    await mongo_db.purchases.insert_many(
        [
            purchase(1, "m", 70, "20"),  # first purchase: not a repeat
            purchase(2, "m", 35, "30"),
            purchase(3, "m", 35.01, "10"),  # the same day: one purchase of 40
            purchase(4, "m", 14, "50"),
            purchase(5, "n", 7, "5"),
        ]
    )
    found = await histories(ValueStore(mongo_db).purchases_by_customer(), NOW)
    assert found.ids == ["m", "n"]
    assert (found.x, found.t_x, found.T, found.m) == ([2, 0], [8.0, 0.0], [10.0, 1.0], [45.0, 0.0])
