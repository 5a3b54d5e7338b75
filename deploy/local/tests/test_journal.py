"""The launcher's journal: what was acknowledged before a kill -9 is there after the restart,
documents and indexes alike, whether the store was checkpointed many times meanwhile or never."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from devstack.mongo import start_mongo
from pymongo import ASCENDING, MongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError

pytestmark = pytest.mark.servers


def workload(docs: Any, seed: int, operations: int) -> dict[int, dict[str, Any]]:
    """Random inserts, updates (of indexed fields too), upserts, find-and-modifies, deletes and
    unique-value swaps; returns the state every acknowledged write left."""
    rng = random.Random(seed)
    expected: dict[int, dict[str, Any]] = {}
    for step in range(operations):
        key = rng.randrange(300)
        action = rng.random()
        if action < 0.3:
            doc = {
                "_id": key,
                "email": f"e{key}-{step}",
                "brick": f"B{rng.randrange(20)}",
                "tags": [f"t{rng.randrange(5)}" for _ in range(rng.randrange(3))],
                "n": step,
            }
            try:
                docs.insert_one(doc)
                expected[key] = doc
            except DuplicateKeyError:
                pass
        elif action < 0.55 and key in expected:
            changes = {"brick": f"B{rng.randrange(20)}", "n": step, "tags": [f"t{step % 5}"]}
            docs.update_one({"_id": key}, {"$set": changes})
            expected[key] = {**expected[key], **changes}
        elif action < 0.7:
            doc = {"email": f"u{key}-{step}", "brick": "B0", "tags": [], "n": step}
            docs.update_one({"_id": key}, {"$set": doc}, upsert=True)
            expected[key] = {"_id": key, **expected.get(key, {}), **doc}
        elif action < 0.8 and key in expected:
            found = docs.find_one_and_update(
                {"_id": key}, {"$inc": {"n": 1}}, return_document=ReturnDocument.AFTER
            )
            expected[key] = found
        elif action < 0.9 and key in expected:
            docs.delete_one({"_id": key})
            del expected[key]
        elif len(expected) >= 2:
            # two documents trade their unique emails through a third value
            a, b = rng.sample(sorted(expected), 2)
            ea, eb = expected[a]["email"], expected[b]["email"]
            docs.update_one({"_id": a}, {"$set": {"email": f"swap-{step}"}})
            docs.update_one({"_id": b}, {"$set": {"email": ea}})
            docs.update_one({"_id": a}, {"$set": {"email": eb}})
            expected[a] = {**expected[a], "email": eb}
            expected[b] = {**expected[b], "email": ea}
    return expected


def assert_holds(docs: Any, expected: dict[int, dict[str, Any]]) -> None:
    stored = {d["_id"]: d for d in docs.find({})}
    assert stored == expected
    # every index answers as a scan would, and the unique one still refuses a taken value
    for brick in {d["brick"] for d in expected.values()}:
        by_index = sorted(d["_id"] for d in docs.find({"brick": brick}))
        by_scan = sorted(d["_id"] for d in docs.find({"brick": brick}).hint([("$natural", 1)]))
        assert by_index == by_scan
    for tag in ("t0", "t1", "t4"):
        by_index = sorted(d["_id"] for d in docs.find({"tags": tag}))
        assert by_index == sorted(k for k, d in expected.items() if tag in d["tags"])
    for key, doc in list(expected.items())[:20]:
        assert [d["_id"] for d in docs.find({"email": doc["email"]})] == [key]
        with pytest.raises(DuplicateKeyError):
            docs.insert_one({"_id": -key - 1, "email": doc["email"]})


@pytest.mark.allow_scans("compares each index's answer with a scan's")
@pytest.mark.parametrize("checkpoint_bytes", [None, 20_000], ids=["journal only", "checkpoints"])
def test_a_kill_loses_nothing_acknowledged(tmp_path: Path, checkpoint_bytes: int | None) -> None:
    server = start_mongo(
        tmp_path / "mongo",
        checkpoint_bytes=checkpoint_bytes,
        checkpoint_seconds=None if checkpoint_bytes else 3600,  # "journal only": none by time
    )
    client: MongoClient = MongoClient(server.url)
    try:
        docs = client.journal.docs
        docs.create_index([("email", ASCENDING)], unique=True, sparse=True)
        docs.create_index([("brick", ASCENDING), ("_id", ASCENDING)])
        docs.create_index([("tags", ASCENDING)])
        client.journal.other.insert_one({"_id": "made after the indexes"})  # a new collection
        expected = workload(docs, seed=11, operations=3000)
    finally:
        client.close()
        server.process.kill()  # SIGKILL: no checkpoint at shutdown

    journal = (tmp_path / "mongo" / "journal.bin").stat().st_size
    if checkpoint_bytes is None:
        assert journal > 100_000  # everything since the indexes' checkpoint is in the journal
    again = start_mongo(tmp_path / "mongo")
    client = MongoClient(again.url)
    try:
        assert_holds(client.journal.docs, expected)
        assert client.journal.other.count_documents({}) == 1
        # and the restart's own checkpoint holds across one more kill
        client.journal.docs.insert_one({"_id": 5000, "email": "after", "brick": "B1", "tags": []})
        expected[5000] = {"_id": 5000, "email": "after", "brick": "B1", "tags": []}
    finally:
        client.close()
        again.process.kill()
    third = start_mongo(tmp_path / "mongo")
    client = MongoClient(third.url)
    try:
        assert_holds(client.journal.docs, expected)
    finally:
        client.close()
        third.process.stop()
    assert (tmp_path / "mongo" / "journal.bin").stat().st_size == 0  # a clean stop checkpoints
