"""The points store against the real database: purchases and ledger entries go in as batched
inserts, a replayed batch adds nothing and answers with what was stored first; the tier window of
a batch's members is one query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from loyalty.store import PointsStore

pytestmark = pytest.mark.servers
NOW = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)


async def test_a_replayed_batch_adds_nothing_and_answers_with_the_first_recording(
    mongo_db,
) -> None:
    points = PointsStore(mongo_db)
    await points.create_indexes()
    first = [{"_id": "O-1", "customer_id": "c1", "total": "10"}]
    assert await points.record_purchases(first) == {"O-1": first[0]}
    again = [
        {"_id": "O-1", "customer_id": "c2", "total": "99"},  # a repeat: the first one stays
        {"_id": "O-2", "customer_id": "c1", "total": "5"},
    ]
    stored = await points.record_purchases(again)
    assert stored["O-1"]["customer_id"] == "c1" and stored["O-2"]["total"] == "5"
    assert await points.purchases.count_documents({}) == 2

    entry = {"_id": "earn:O-1", "customer_id": "c1", "kind": "earn", "points": 10, "at": NOW}
    await points.add_entries([entry])
    await points.add_entries([{**entry, "points": 999}, {**entry, "_id": "earn:O-2"}])
    assert [e["points"] for e in await points.entries_of("c1", None)] == [10, 10]


async def test_the_tier_window_of_several_members_in_one_query(mongo_db) -> None:
    points = PointsStore(mongo_db)
    await points.create_indexes()
    await points.add_entries(
        [
            {"_id": "a", "customer_id": "c1", "kind": "earn", "points": 1, "at": NOW},
            {
                "_id": "b",
                "customer_id": "c1",
                "kind": "earn",
                "points": 2,
                "at": NOW - timedelta(days=400),
            },
            {"_id": "c", "customer_id": "c2", "kind": "earn", "points": 3, "at": NOW},
            {"_id": "d", "customer_id": "c3", "kind": "earn", "points": 4, "at": NOW},
        ]
    )
    window = await points.entries_since(["c1", "c2", "c9"], NOW - timedelta(days=365))
    assert {cid: [e["_id"] for e in entries] for cid, entries in window.items()} == {
        "c1": ["a"],
        "c2": ["c"],
        "c9": [],
    }
