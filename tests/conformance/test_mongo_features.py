"""The MongoDB features the services rely on, checked against whichever server the run uses.

Dev and CI run on mongo-java-server (a MongoDB-wire stand-in); production runs real MongoDB.
Every feature a service's correctness rests on has a test here, so a stand-in that drifts from
MongoDB (or a service that starts to rely on something new) shows up as a red test, not as a
production surprise. Run it against a real ``mongod`` with ``MONGODB_URL=mongodb://...``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bson import Binary
from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError
from servicekit.database import DUPLICATE_KEY

# What queries answer, on throwaway collections without indexes; which index serves a query is
# the scan guard's concern in the service tests (and the launcher's own tests).
pytestmark = [
    pytest.mark.servers,
    pytest.mark.allow_scans("feature checks of query semantics, not of query plans"),
]


async def test_duplicate_key_is_error_11000_on_id_and_on_a_unique_index(
    mongo_db: AsyncDatabase,
) -> None:
    docs = mongo_db["docs"]
    await docs.create_index([("code", ASCENDING)], unique=True, sparse=True, name="code_unique")
    await docs.insert_one({"_id": "a", "code": "C1"})
    with pytest.raises(DuplicateKeyError) as on_id:
        await docs.insert_one({"_id": "a"})
    with pytest.raises(DuplicateKeyError) as on_code:
        await docs.insert_one({"_id": "b", "code": "C1"})
    assert on_id.value.code == on_code.value.code == DUPLICATE_KEY


async def test_a_sparse_unique_index_allows_many_documents_without_the_field(
    mongo_db: AsyncDatabase,
) -> None:
    docs = mongo_db["docs"]
    await docs.create_index([("code", ASCENDING)], unique=True, sparse=True)
    await docs.insert_many([{"_id": 1}, {"_id": 2}, {"_id": 3, "code": "X"}])
    assert await docs.count_documents({}) == 3
    found = await docs.find({"code": {"$in": ["X", "Y"]}}).to_list()
    assert [d["_id"] for d in found] == [3]


async def test_conditional_update_on_version_applies_only_to_the_expected_version(
    mongo_db: AsyncDatabase,
) -> None:
    docs = mongo_db["docs"]
    await docs.insert_one({"_id": "a", "version": 1, "name": "old"})
    stale = await docs.update_one({"_id": "a", "version": 0}, {"$set": {"name": "stale"}})
    fresh = await docs.update_one(
        {"_id": "a", "version": 1}, {"$set": {"name": "new", "version": 2}}
    )
    assert (stale.matched_count, fresh.modified_count) == (0, 1)
    assert await docs.find_one({"_id": "a"}) == {"_id": "a", "version": 2, "name": "new"}


async def test_conditional_upsert_that_misses_an_existing_id_is_a_duplicate_key(
    mongo_db: AsyncDatabase,
) -> None:
    """How writers detect a lost race: the filter misses, the upsert collides on _id."""
    docs = mongo_db["docs"]
    await docs.insert_one({"_id": "a", "version": 3})
    with pytest.raises(DuplicateKeyError):
        await docs.update_one(
            {"_id": "a", "version": {"$exists": False}}, {"$set": {"version": 1}}, upsert=True
        )
    created = await docs.update_one(
        {"_id": "b", "version": {"$exists": False}}, {"$set": {"version": 1}}, upsert=True
    )
    assert created.upserted_id == "b"
    assert await docs.find_one({"_id": "b"}) == {"_id": "b", "version": 1}


async def test_unordered_bulk_reports_the_index_of_each_failed_write_and_applies_the_rest(
    mongo_db: AsyncDatabase,
) -> None:
    docs = mongo_db["docs"]
    await docs.insert_one({"_id": "a", "version": 3})
    ops = [
        UpdateOne({"_id": "x", "version": {"$exists": False}}, {"$set": {"version": 1}}, True),
        UpdateOne({"_id": "a", "version": 2}, {"$set": {"version": 3}}, upsert=True),
        UpdateOne({"_id": "y", "version": {"$exists": False}}, {"$set": {"version": 1}}, True),
    ]
    with pytest.raises(BulkWriteError) as failure:
        await docs.bulk_write(ops, ordered=False)
    errors = failure.value.details["writeErrors"]
    assert [(e["index"], e["code"]) for e in errors] == [(1, DUPLICATE_KEY)]
    assert sorted(d["_id"] for d in await docs.find({"version": 1}).to_list()) == ["x", "y"]


async def test_bulk_upsert_with_set_on_insert_reports_upserted_ids_and_keeps_existing(
    mongo_db: AsyncDatabase,
) -> None:
    docs = mongo_db["docs"]
    await docs.insert_one({"_id": "old", "points": 7})
    result = await docs.bulk_write(
        [
            UpdateOne({"_id": "old"}, {"$setOnInsert": {"points": 0}}, upsert=True),
            UpdateOne({"_id": "new"}, {"$setOnInsert": {"points": 0}}, upsert=True),
        ],
        ordered=False,
    )
    assert result.upserted_ids == {1: "new"}
    assert (await docs.find_one({"_id": "old"}))["points"] == 7


async def test_outbox_entries_push_each_find_by_entry_time_and_pull_by_id(
    mongo_db: AsyncDatabase,
) -> None:
    docs = mongo_db["docs"]
    old, new = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    await docs.insert_many([{"_id": "a", "outbox": []}, {"_id": "b"}, {"_id": "c", "outbox": []}])
    await docs.update_one(
        {"_id": "a"},
        {"$push": {"outbox": {"$each": [{"id": "e1", "at": old}, {"id": "e2", "at": new}]}}},
    )
    await docs.update_one({"_id": "c"}, {"$push": {"outbox": {"$each": [{"id": "e3", "at": new}]}}})
    pending = await docs.find({"outbox.0": {"$exists": True}}, {"_id": 1}).sort("_id").to_list()
    assert [d["_id"] for d in pending] == ["a", "c"]
    # the sweep takes documents with an entry older than a cutoff, with all their entries, by
    # a sparse multikey index on the entries' times
    await docs.create_index([("outbox.at", ASCENDING)], sparse=True, name="outbox_pending")
    leftovers = await docs.find({"outbox.at": {"$lt": new}}, {"outbox.id": 1}).to_list()
    assert leftovers == [{"_id": "a", "outbox": [{"id": "e1"}, {"id": "e2"}]}]
    assert await docs.count_documents({"outbox.at": {"$lt": datetime(2027, 1, 1, tzinfo=UTC)}}) == 2
    await docs.update_many(
        {"_id": {"$in": ["a", "b"]}}, {"$pull": {"outbox": {"id": {"$in": ["e1"]}}}}
    )
    assert (await docs.find_one({"_id": "a"}))["outbox"] == [{"id": "e2", "at": new}]
    assert await docs.find_one({"_id": "b"}) == {"_id": "b"}


async def test_unset_removes_fields_and_projection_excludes_one(mongo_db: AsyncDatabase) -> None:
    docs = mongo_db["docs"]
    await docs.insert_one({"_id": "a", "fax": "1", "email": "e", "outbox": [1]})
    await docs.update_one({"_id": "a"}, {"$unset": {"fax": ""}, "$set": {"email": "f"}})
    assert await docs.find_one({"_id": "a"}, {"outbox": 0}) == {"_id": "a", "email": "f"}


async def test_find_one_and_update_returns_the_document_after_the_update(
    mongo_db: AsyncDatabase,
) -> None:
    counters = mongo_db["counters"]
    first = await counters.find_one_and_update(
        {"_id": "case"}, {"$inc": {"next": 1}}, upsert=True, return_document=ReturnDocument.AFTER
    )
    second = await counters.find_one_and_update(
        {"_id": "case"}, {"$inc": {"next": 1}}, return_document=ReturnDocument.AFTER
    )
    assert (first["next"], second["next"]) == (1, 2)


async def test_timezone_aware_datetimes_round_trip_at_millisecond_precision(
    mongo_db: AsyncDatabase,
) -> None:
    docs = mongo_db["docs"]
    at = datetime(2026, 3, 29, 1, 30, 15, 123000, tzinfo=UTC)
    await docs.insert_many([{"_id": i, "at": at + timedelta(days=i)} for i in range(3)])
    stored = await docs.find_one({"_id": 0})
    assert stored["at"] == at and stored["at"].tzinfo is not None
    later = await docs.find({"at": {"$gt": at}}).sort("at", DESCENDING).to_list()
    assert [d["_id"] for d in later] == [2, 1]


async def test_binary_payloads_round_trip(mongo_db: AsyncDatabase) -> None:
    docs = mongo_db["docs"]
    payload = bytes(range(256)) * 64
    await docs.insert_one({"_id": "file", "data": Binary(payload)})
    assert (await docs.find_one({"_id": "file"}))["data"] == payload


async def test_anchored_case_insensitive_regex_matches_prefixes(mongo_db: AsyncDatabase) -> None:
    docs = mongo_db["docs"]
    await docs.insert_many(
        [{"_id": 1, "last": "Smith"}, {"_id": 2, "last": "smithers"}, {"_id": 3, "last": "Psmith"}]
    )
    found = await docs.find({"last": {"$regex": "^smi", "$options": "i"}}).sort("_id").to_list()
    assert [d["_id"] for d in found] == [1, 2]


async def test_sort_on_two_keys_with_a_range_cursor_pages_without_gaps(
    mongo_db: AsyncDatabase,
) -> None:
    docs = mongo_db["docs"]
    await docs.insert_many([{"_id": i, "name": f"n{i % 3}"} for i in range(9)])
    seen: list[int] = []
    after: tuple[str, int] | None = None
    query: dict[str, object]
    while True:
        query = {}
        if after is not None:
            name, last_id = after
            query = {"$or": [{"name": {"$gt": name}}, {"name": name, "_id": {"$gt": last_id}}]}
        page = await docs.find(query).sort([("name", 1), ("_id", 1)]).limit(4).to_list()
        if not page:
            break
        seen += [d["_id"] for d in page]
        after = (page[-1]["name"], page[-1]["_id"])
    assert seen == [0, 3, 6, 1, 4, 7, 2, 5, 8]


async def test_aggregation_match_group_sort(mongo_db: AsyncDatabase) -> None:
    ledger = mongo_db["ledger"]
    await ledger.insert_many(
        [
            {"member": "a", "points": 10},
            {"member": "a", "points": -3},
            {"member": "b", "points": 5},
            {"member": "c", "points": 1},
        ]
    )
    totals = await (
        await ledger.aggregate(
            [
                {"$match": {"member": {"$in": ["a", "b"]}}},
                {"$group": {"_id": "$member", "balance": {"$sum": "$points"}, "n": {"$sum": 1}}},
                {"$sort": {"balance": -1}},
            ]
        )
    ).to_list()
    assert totals == [{"_id": "a", "balance": 7, "n": 2}, {"_id": "b", "balance": 5, "n": 1}]


async def test_count_and_distinct(mongo_db: AsyncDatabase) -> None:
    docs = mongo_db["docs"]
    await docs.insert_many([{"team": t, "brick": b} for t, b in [("n", 1), ("n", 2), ("s", 2)]])
    assert await docs.count_documents({"team": "n"}) == 2
    assert sorted(await docs.distinct("brick")) == [1, 2]


async def test_an_index_on_an_array_position_answers_as_a_scan_does(
    mongo_db: AsyncDatabase,
) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    indexed, plain = mongo_db["positional"], mongo_db["positional_plain"]
    await indexed.create_index([("outbox.0.at", ASCENDING)], name="first_entry")
    for docs in (indexed, plain):
        await docs.insert_many(
            [{"_id": "a", "outbox": [{"at": at}]}, {"_id": "b", "outbox": []}, {"_id": "c"}]
        )
    query = {"outbox.0.at": {"$lte": at}}
    assert await plain.find(query).to_list() == [{"_id": "a", "outbox": [{"at": at}]}]
    assert await indexed.find(query).to_list() == await plain.find(query).to_list()
