"""Interactions looked up by activity over the real database: regardless of case, by an index
(the scan guard fails the test otherwise), following edits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from customer.store import InteractionStore

pytestmark = pytest.mark.servers
NOW = datetime(2026, 11, 30, tzinfo=UTC)


def fulfilment(item_id: str, customer_id: str, activity: str | None) -> dict:
    doc = {"_id": item_id, "customer_id": customer_id, "kind": "fulfilments", "at": NOW}
    return {**doc, "version": 1, **({"activity": activity} if activity else {})}


@pytest.fixture
async def store(mongo_db) -> InteractionStore:
    store = InteractionStore(mongo_db)
    await store.create_indexes()
    await store.insert(fulfilment("f1", "c2", "Spring Mailing"))
    await store.insert(fulfilment("f2", "c1", "SPRING MAILING"))
    await store.insert(fulfilment("f3", "c3", "Autumn mailing"))
    await store.insert(fulfilment("f4", "c1", None))
    await store.insert({**fulfilment("n1", "c4", "spring mailing"), "kind": "notes"})
    return store


async def test_customers_sent_an_activity_regardless_of_case(store: InteractionStore) -> None:
    assert await store.customers_with_activity("fulfilments", "spring mailing", 10) == ["c1", "c2"]
    assert await store.customers_with_activity("fulfilments", "Spring", 10) == []  # whole value
    assert await store.customers_with_activity("fulfilments", "spring mailing", 1) == ["c1", "c2"]


async def test_an_edited_activity_is_found_by_its_new_value_only(store: InteractionStore) -> None:
    doc = await store.get("c3", "fulfilments", "f3")
    assert doc is not None
    assert await store.update(doc, {"activity": "Spring mailing", "version": 2}, set())
    assert await store.customers_with_activity("fulfilments", "spring mailing", 10) == [
        "c1",
        "c2",
        "c3",
    ]
    doc = await store.get("c3", "fulfilments", "f3")
    assert doc is not None
    assert await store.update(doc, {"reference_code": "R1", "version": 3}, {"activity"})
    assert await store.customers_with_activity("fulfilments", "spring mailing", 10) == ["c1", "c2"]
