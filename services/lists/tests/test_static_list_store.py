"""Static lists' queries over the real database: each is served by an index (the scan guard
fails the test otherwise) and finds what it should."""

from __future__ import annotations

import pytest
from lists.store import STATIC_LISTS, StaticListStore

pytestmark = pytest.mark.servers

LISTS = [
    {"_id": "L-1", "name": "Mailing North", "kind": "static", "owners": {"teams": ["north"]}},
    {"_id": "L-2", "name": "Cardio group", "kind": "group", "owners": {"teams": ["north"]}},
    {"_id": "L-3", "name": "Ärzte Süd", "kind": "group", "owners": {"teams": ["south"]}},
]


@pytest.fixture
async def store(mongo_db) -> StaticListStore:
    store = StaticListStore(mongo_db)
    await store.create_indexes()
    for doc in LISTS:
        await store.insert({**doc, "version": 1})
    return store


async def ids(store: StaticListStore, query: dict) -> list[str]:
    return [d["_id"] for d in await store.find(query)]


async def test_a_name_matches_regardless_of_case_and_is_not_shown(store: StaticListStore) -> None:
    assert await ids(store, store.name_query("  MAILING north ")) == ["L-1"]
    assert await ids(store, store.name_query("ärzte süd")) == ["L-3"]
    assert await ids(store, store.name_query("Mailing")) == []  # the whole name, not a prefix
    assert "name_key" not in (await store.get("L-1") or {})


async def test_a_renamed_list_is_found_by_its_new_name(store: StaticListStore) -> None:
    assert await store.update("L-1", 1, {"name": "Mailing East"})
    assert await ids(store, store.name_query("mailing east")) == ["L-1"]
    assert await ids(store, store.name_query("mailing north")) == []


async def test_a_teams_groups_and_lists_by_kind(store: StaticListStore) -> None:
    assert await ids(store, {"owners.teams": "north", "kind": "group"}) == ["L-2"]
    assert await ids(store, {"owners.teams": "north"}) == ["L-2", "L-1"]  # by name
    assert await ids(store, {"kind": "group"}) == ["L-2", "L-3"]  # "C" sorts before "Ä"


async def test_lists_stored_before_the_name_key_get_it_at_start_up(mongo_db) -> None:
    await mongo_db[STATIC_LISTS].insert_one({"_id": "L-old", "name": "Old Name", "version": 1})
    store = StaticListStore(mongo_db)
    await store.create_indexes()
    assert await ids(store, store.name_query("old name")) == ["L-old"]


async def test_a_customers_lists_and_an_erasure(store: StaticListStore) -> None:
    await store.add("L-1", ["c1", "c2"], {})
    await store.add("L-2", ["c1"], {})
    assert await store.lists_of("c1") == ["L-1", "L-2"]
    assert await store.all_customer_ids("L-1") == ["c1", "c2"]
    await store.forget(["c1"])
    assert await store.lists_of("c1") == []
    assert [e["customer_id"] for e in await store.page("L-1", None, 10)] == ["c2"]
