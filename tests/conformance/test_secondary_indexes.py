"""Secondary indexes answer every query shape the services send exactly as a full scan does.

Two collections hold the same generated documents: one with the services' kinds of index
(compound, multikey over arrays and arrays of documents, descending, sparse), one with none. The
same queries, counts and sorted, limited reads must give the same answers on both, before and
after updates that move documents between keys and deletes. On the dev launcher the scan record
also shows that the indexed collection served each indexable query by an index. Run it against
a real ``mongod`` with ``MONGODB_URL=mongodb://...`` (the scan record is then not checked).
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import Int64
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

pytestmark = pytest.mark.servers

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NAMES = [
    "Smith",
    "Smythe",
    "smith",
    "Sm",
    "Zoe",
    "Ana",
    "Ánna",
    "M\u00fcller",
    "Ma\x00x",
    "Ma\x01y",
]
CUSTOMERS = [f"c{i}" for i in range(12)]


def _n(rng: random.Random) -> Any:
    return rng.choice([1, 2, 3.0, 3, 7.5, -2, Int64(4), None, "x", "abc", True, 2**60, 0.0])


def _document(i: int, rng: random.Random) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": f"d{i:03d}",
        "customer_id": rng.choice(CUSTOMERS),
        "at": T0 + timedelta(minutes=i * 7 % 1000, seconds=i),  # distinct: sorts have no ties
        "name": f"{rng.choice(NAMES)} {i:03d}",
        "status": rng.random() < 0.5,
    }
    if rng.random() < 0.85:
        doc["n"] = _n(rng)
    tags = rng.choice([[], ["a"], ["a", "b"], ["b", "c", "b"], ["c", None], "a", None])
    if rng.random() < 0.8:
        doc["tags"] = tags
    addresses = [
        {"brick": rng.choice(["B1", "B2", "B3", None]), "city": "X"}
        for _ in range(rng.randrange(0, 3))
    ]
    if rng.random() < 0.3:
        addresses.append({"city": "no brick"})
    if addresses or rng.random() < 0.5:
        doc["addresses"] = addresses
    if rng.random() < 0.3:
        doc["code"] = rng.choice(["C1", "C2", None])
    return doc


INDEXES: list[tuple[list[tuple[str, int]], dict[str, Any]]] = [
    ([("customer_id", ASCENDING), ("at", DESCENDING)], {}),
    ([("n", ASCENDING)], {}),
    ([("tags", ASCENDING)], {}),
    ([("addresses.brick", ASCENDING)], {}),
    ([("name", ASCENDING)], {}),
    ([("status", ASCENDING), ("n", DESCENDING)], {}),
    ([("code", ASCENDING)], {"sparse": True}),
    ([("addresses.brick", ASCENDING), ("name", ASCENDING)], {}),  # multikey, then a sort key
    ([("tags", ASCENDING), ("at", ASCENDING)], {}),
    ([("addresses.0.brick", ASCENDING)], {}),
    ([("addresses.1.brick", ASCENDING)], {}),
]

# (filter, sort, skip, limit, served by an index on the dev launcher)
QUERIES: list[tuple[dict[str, Any], list[tuple[str, int]] | None, int, int, bool]] = [
    ({"customer_id": "c3"}, None, 0, 0, True),
    ({"customer_id": {"$in": ["c1", "c2", "nobody"]}}, None, 0, 0, True),
    ({"customer_id": "c3", "at": {"$gte": T0 + timedelta(minutes=300)}}, None, 0, 0, True),
    ({"customer_id": "c4"}, [("at", DESCENDING)], 1, 3, True),
    ({"customer_id": "c4"}, [("at", ASCENDING)], 0, 4, True),
    ({"customer_id": "c5", "at": {"$lt": T0 + timedelta(minutes=500)}}, [("at", -1)], 0, 2, True),
    ({"n": 3}, None, 0, 0, True),
    ({"n": 3.0, "status": True}, None, 0, 0, True),
    ({"n": {"$gt": 2, "$lte": 7.5}}, None, 0, 0, True),
    ({"n": {"$lt": 0}}, None, 0, 0, True),
    ({"n": {"$gte": 2**60}}, None, 0, 0, True),
    ({"n": None}, None, 0, 0, True),
    ({"n": {"$in": [1, None, "x"]}}, None, 0, 0, True),
    ({"n": {"$gte": "a"}}, None, 0, 0, True),
    ({"n": {"$eq": True}}, None, 0, 0, True),
    ({"n": {"$ne": 3}}, None, 0, 0, False),
    ({"tags": "a"}, None, 0, 0, True),
    ({"tags": {"$in": ["b", "c"]}}, None, 0, 0, True),
    ({"tags": {"$all": ["a", "b"]}}, None, 0, 0, True),
    ({"tags": None}, None, 0, 0, True),
    ({"tags": []}, None, 0, 0, False),
    ({"tags": {"$size": 0}}, None, 0, 0, False),
    ({"addresses.brick": "B1"}, None, 0, 0, True),
    ({"addresses.brick": {"$in": ["B2", "B3"]}}, None, 0, 0, True),
    ({"addresses.brick": None}, None, 0, 0, True),
    ({"addresses.brick": "B2"}, [("name", ASCENDING)], 0, 4, True),  # in the index's order
    ({"addresses.brick": "B3"}, [("name", DESCENDING)], 1, 3, True),
    ({"tags": "b"}, [("at", DESCENDING)], 0, 5, True),
    ({"tags": {"$in": ["a", "c"]}}, [("at", ASCENDING)], 0, 5, True),  # two ranges: sorted after
    ({"name": {"$regex": "^Sm"}}, None, 0, 0, True),
    ({"name": {"$regex": "^Sm", "$options": "i"}}, None, 0, 0, False),
    ({"name": re.compile("^Ma.")}, None, 0, 0, True),
    ({"name": {"$regex": "^M\u00fc"}}, None, 0, 0, True),
    ({"name": {"$regex": "ith"}}, None, 0, 0, False),
    ({"name": {"$gte": "M", "$lt": "N"}}, None, 0, 0, True),
    ({"name": {"$regex": "^Z"}}, [("name", DESCENDING)], 0, 2, True),
    ({"status": True, "n": {"$gt": 1}}, None, 0, 0, True),
    ({"status": False}, [("n", DESCENDING)], 0, 0, True),
    (
        {"$or": [{"customer_id": "c1"}, {"tags": "c"}, {"name": {"$regex": "^Zoe"}}]},
        None,
        0,
        0,
        True,
    ),
    ({"$or": [{"customer_id": "c1"}, {"n": {"$ne": 1}}]}, None, 0, 0, False),
    ({"status": True, "$or": [{"code": "C1"}, {"customer_id": "c2"}]}, None, 0, 0, True),
    ({"$and": [{"customer_id": "c6"}, {"n": {"$gt": 1}}]}, None, 0, 0, True),
    ({"_id": {"$gt": "d050"}}, [("_id", ASCENDING)], 0, 10, True),
    ({"_id": {"$gt": "d050", "$lte": "d080"}, "status": True}, None, 0, 0, True),
    ({"_id": {"$in": ["d001", "d002", "d999"]}, "n": {"$exists": True}}, None, 0, 0, True),
    ({"_id": {"$in": []}}, [("_id", ASCENDING)], 0, 0, True),  # nothing to read
    ({"tags": {"$in": []}, "status": True}, None, 0, 0, True),
    ({"addresses.0.brick": "B1"}, None, 0, 0, True),  # an array position
    ({"addresses.1.brick": None}, None, 0, 0, True),
    ({"code": "C1"}, None, 0, 0, True),
    ({"code": None}, None, 0, 0, False),
    ({"code": {"$exists": True}}, None, 0, 0, False),
    ({}, [("name", ASCENDING)], 0, 7, True),
    ({"tags": {"$size": 1}}, [("name", ASCENDING)], 0, 5, True),  # the sort's index, walked
    ({"n": {"$ne": 3}}, [("name", DESCENDING)], 2, 4, True),
    ({}, [("name", DESCENDING)], 3, 5, True),
]


async def _load(
    db: AsyncDatabase, documents: list[dict[str, Any]]
) -> tuple[AsyncCollection, AsyncCollection]:
    indexed, plain = db["indexed"], db["plain"]
    for keys, options in INDEXES:
        await indexed.create_index(keys, **options)
    await indexed.insert_many([dict(d) for d in documents])
    await plain.insert_many([dict(d) for d in documents])
    return indexed, plain


async def _read(
    docs: AsyncCollection, query: dict[str, Any], sort: Any, skip: int, limit: int
) -> list[Any]:
    """The ids found; for a sorted read, also each one's sort values (ties may come either way,
    so where a limit could cut through ties the values are what must agree)."""
    if not sort:
        return sorted([d["_id"] async for d in docs.find(query, {"_id": 1})])
    found = await docs.find(query).sort(sort).skip(skip).limit(limit).to_list()
    values = [[_sort_value(d.get(key)) for key, _ in sort] for d in found]
    return [values, sorted(d["_id"] for d in found) if not limit else [d["_id"] for d in found]]


def _sort_value(value: Any) -> str:
    """3 and 3.0 are one value to MongoDB's sort."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(float(value))
    return repr(value)


async def _scans(db: AsyncDatabase) -> list[dict[str, Any]] | None:
    """The launcher's scan record since the last call, or None on a server without one."""
    try:
        reply = await db.client.admin.command({"cdpScans": 1, "reset": True})
    except OperationFailure:
        return None
    return [s for s in reply["scans"] if s["db"] == db.name and s["collection"] == "indexed"]


async def _compare(db: AsyncDatabase, indexed: AsyncCollection, plain: AsyncCollection) -> None:
    for query, sort, skip, limit, servable in QUERIES:
        expected = await _read(plain, query, sort, skip, limit)
        await _scans(db)
        got = await _read(indexed, query, sort, skip, limit)
        scans = await _scans(db)
        assert got == expected, f"{query} sort {sort}: {got} by index, {expected} by scan"
        if scans is not None and servable:
            unexpected = [scan for scan in scans if not scan["deliberate"]]
            assert unexpected == [], f"{query} sort {sort} scanned: {unexpected}"
        assert await indexed.count_documents(query) == await plain.count_documents(query), query


async def test_index_answers_equal_full_scan_answers(mongo_db: AsyncDatabase) -> None:
    rng = random.Random(11)
    documents = [_document(i, rng) for i in range(300)]
    indexed, plain = await _load(mongo_db, documents)
    await _compare(mongo_db, indexed, plain)

    # documents move between keys: updates, array pushes and pulls, unsets, replaces, deletes
    for docs in (indexed, plain):
        await docs.update_many({"customer_id": "c3"}, {"$set": {"customer_id": "c4"}})
        await docs.update_many({"tags": {"$elemMatch": {"$eq": "a"}}}, {"$pull": {"tags": "a"}})
        await docs.update_many({"status": True, "n": {"$gt": 2}}, {"$unset": {"n": ""}})
        await docs.update_many({"addresses.brick": "B1"}, {"$push": {"addresses": {"brick": "B9"}}})
        await docs.update_one({"_id": "d010"}, {"$set": {"tags": ["z", "a"], "n": 3}})
        await docs.replace_one({"_id": "d011"}, {"customer_id": "c1", "name": "Zoe new"})
        await docs.delete_many({"customer_id": "c2"})
        await docs.delete_one({"_id": "d012"})
        await docs.update_one(
            {"_id": "new"}, {"$set": {"customer_id": "c1", "tags": ["c"]}}, upsert=True
        )
    await _compare(mongo_db, indexed, plain)


@pytest.mark.allow_scans("the count after drop_index scans on purpose")
async def test_an_index_added_to_existing_documents_is_built_from_them(
    mongo_db: AsyncDatabase,
) -> None:
    docs = mongo_db["late"]
    await docs.insert_many([{"_id": i, "k": i % 5, "t": [i, i + 1]} for i in range(100)])
    await docs.create_index([("k", ASCENDING)])
    await docs.create_index([("t", ASCENDING)])
    await _scans(mongo_db)
    assert sorted(d["_id"] for d in await docs.find({"k": 2}).to_list()) == list(range(2, 100, 5))
    assert sorted(d["_id"] for d in await docs.find({"t": 50}).to_list()) == [49, 50]
    await docs.drop_index("k_1")
    assert await docs.count_documents({"k": 2}) == 20  # served by a scan again, same answer
