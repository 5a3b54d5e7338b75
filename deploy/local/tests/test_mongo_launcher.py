"""The MongoDB-wire launcher: what it mends in mongo-java-server holds; a failed start says why."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bson import Int64
from devstack.mongo import MongoServer, start_mongo
from devstack.process import ServerStartError
from pymongo import ASCENDING, AsyncMongoClient, MongoClient
from pymongo.errors import PyMongoError

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def narrowed_and_plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    servers: list[MongoServer] = []
    try:
        for narrowing in (True, False):
            folder = tmp_path_factory.mktemp(f"narrowing-{narrowing}")
            servers.append(start_mongo(folder, narrowing=narrowing, in_memory=True))
        yield servers[0].url, servers[1].url
    finally:
        for server in servers:
            server.process.stop()


async def test_acknowledged_writes_survive_a_kill_of_the_server(tmp_path: Path) -> None:
    server = start_mongo(tmp_path / "mongo")
    client: AsyncMongoClient = AsyncMongoClient(server.url)
    try:
        docs = client.durable.docs
        await docs.create_index([("version", ASCENDING)])
        for i in range(200):
            await docs.insert_one({"_id": i, "version": 1})
        for i in range(0, 200, 2):
            await docs.update_one({"_id": i}, {"$set": {"version": 2}})
        await docs.insert_many([{"_id": 1000 + i} for i in range(500)])
    finally:
        await client.close()
        server.process.kill()  # SIGKILL: no shutdown hook runs

    again = start_mongo(tmp_path / "mongo")
    client = AsyncMongoClient(again.url)
    try:
        docs = client.durable.docs
        assert await docs.count_documents({}) == 700
        assert await docs.count_documents({"version": 2}) == 100
        # the secondary index was committed with the data: it answers, and no query scanned
        await client.admin.command({"cdpScans": 1, "reset": True})
        assert len(await docs.find({"version": 1}).to_list()) == 100
        assert await docs.count_documents({"version": {"$gte": 1}}) == 200
        scans = (await client.admin.command({"cdpScans": 1}))["scans"]
        assert [s for s in scans if not s["deliberate"]] == []
    finally:
        await client.close()
        again.process.stop()


async def test_concurrent_writers_sharing_commits_lose_nothing_acknowledged(tmp_path: Path) -> None:
    """Writes that finish together share one commit: each is acknowledged only once covered.
    Four clients write until the server is killed under them."""
    server = start_mongo(tmp_path / "mongo")
    acknowledged: list[int] = []
    enough = asyncio.Event()
    clients = [
        AsyncMongoClient(server.url, serverSelectionTimeoutMS=2000, retryWrites=False)
        for _ in range(4)
    ]

    async def writer(client: AsyncMongoClient, first: int) -> None:
        docs = client.durable.docs
        for i in range(first, first + 100_000):
            try:
                await docs.insert_one({"_id": i, "writer": first})
            except PyMongoError:
                return
            acknowledged.append(i)
            if len(acknowledged) >= 400:
                enough.set()

    try:
        await clients[0].durable.docs.create_index([("writer", ASCENDING)])
        writers = asyncio.gather(*(writer(c, n * 1_000_000) for n, c in enumerate(clients)))
        await enough.wait()
        server.process.kill()  # SIGKILL mid-stream: no shutdown hook runs
        await writers
    finally:
        for client in clients:
            await client.close()

    again = start_mongo(tmp_path / "mongo")
    client = AsyncMongoClient(again.url)
    try:
        docs = client.durable.docs
        stored = {d["_id"] async for d in docs.find({}, {"_id": 1})}
        assert not set(acknowledged) - stored, "acknowledged writes lost"
        by_writer = sum([await docs.count_documents({"writer": n * 1_000_000}) for n in range(4)])
        assert by_writer == len(stored)  # the index holds what the data holds
    finally:
        await client.close()
        again.process.stop()


DOCUMENTS: list[dict[str, Any]] = [
    {"_id": 1, "code": "A", "version": 1, "tags": ["x", "y"], "pair": {"a": 1}, "n": 1},
    {"_id": 2, "code": "B", "version": 2, "tags": ["y"], "region": "north", "n": 2.0},
    {"_id": 3, "version": 0, "tags": [], "region": "south", "n": Int64(3)},  # no code: sparse
    {"_id": 4, "code": "D", "region": "north", "shop": "s1", "n": 4, "outbox": [{"id": "e"}]},
    {"_id": "five", "code": ["E", "F"], "version": 5, "region": "south", "shop": "s2", "n": 5},
    {"_id": 6, "code": None, "version": 6, "region": None, "shop": "s6"},
]

QUERIES: list[dict[str, Any]] = [
    {"_id": 1, "version": 1},
    {"_id": 1, "version": {"$lt": 1}},
    {"_id": 3, "version": {"$exists": False}},
    {"_id": 7, "version": {"$exists": False}},
    {"_id": {"$in": [1, 2, 4]}, "outbox.0": {"$exists": True}},
    {"_id": {"$in": [1.0, Int64(2), "five"]}, "version": {"$gte": 1}},
    {"_id": 2.0, "n": 2},
    {"_id": Int64(4), "n": 4.0},
    {"code": "A", "version": 1},
    {"code": "E", "region": "south"},  # an element of an array field
    {"code": None, "version": {"$gte": 0}},  # null also matches a missing field
    {"code": {"$in": ["B", None]}, "version": {"$gte": 0}},
    {"code": {"$in": ["A", "D"]}, "region": {"$exists": True}},
    {"code": {"$regex": "^[AB]"}, "version": {"$gt": 0}},
    {"region": "north", "shop": "s1", "n": 4},  # compound unique index
    {"region": "south", "shop": {"$in": ["s2"]}, "n": 5},
    {"region": None, "shop": "s6", "version": 6},
    {"_id": 1, "pair": {"a": 1}},
    {"_id": 1, "tags": "x"},
    {"_id": 2, "$or": [{"version": 2}, {"version": 3}]},
]


async def _answers(url: str, database: str) -> list[list[Any]]:
    client: AsyncMongoClient = AsyncMongoClient(url)
    try:
        docs = client[database].docs
        await docs.create_index([("code", ASCENDING)], unique=True, sparse=True)
        await docs.create_index([("region", ASCENDING), ("shop", ASCENDING)], unique=True)
        await docs.insert_many([dict(d) for d in DOCUMENTS])
        answers = []
        for query in QUERIES:
            found = await docs.find(query).to_list()
            answers.append(sorted(str(d["_id"]) for d in found))
        return answers
    finally:
        await client.close()


async def test_narrowing_by_unique_index_returns_what_a_full_scan_returns(
    narrowed_and_plain: tuple[str, str],
) -> None:
    narrowed, plain = narrowed_and_plain
    with_narrowing = await _answers(narrowed, "equivalence")
    without = await _answers(plain, "equivalence")
    for query, got, expected in zip(QUERIES, with_narrowing, without, strict=True):
        assert got == expected, f"{query}: {got} with narrowing, {expected} without"
    # and the answers are MongoDB's, not just equal to each other
    assert with_narrowing[0] == ["1"] and with_narrowing[3] == []
    assert with_narrowing[4] == ["4"] and with_narrowing[5] == ["1", "2", "five"]
    assert with_narrowing[9] == ["five"] and with_narrowing[14] == ["4"]


async def test_a_conditional_upsert_that_misses_an_existing_id_is_a_duplicate_key(
    narrowed_and_plain: tuple[str, str],
) -> None:
    from pymongo.errors import DuplicateKeyError

    client: AsyncMongoClient = AsyncMongoClient(narrowed_and_plain[0])
    try:
        docs = client.upserts.docs
        await docs.insert_one({"_id": "a", "version": 3})
        with pytest.raises(DuplicateKeyError):
            await docs.update_one({"_id": "a", "version": 2}, {"$set": {"version": 3}}, True)
        await docs.update_one({"_id": "a", "version": 3}, {"$set": {"version": 4}}, True)
        assert await docs.find_one({"_id": "a"}) == {"_id": "a", "version": 4}
    finally:
        await client.close()


def test_it_reports_mongodb_4_4_and_wire_version_9(narrowed_and_plain: tuple[str, str]) -> None:
    with MongoClient(narrowed_and_plain[0]) as client:
        assert client.admin.command("buildInfo")["version"] == "4.4.0"
        assert client.admin.command("isMaster")["maxWireVersion"] == 9


def test_a_start_that_cannot_bind_fails_with_the_server_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(ServerStartError) as failure:
            start_mongo(tmp_path / "mongo", taken.getsockname()[1], timeout=30)
    message = str(failure.value)
    assert "mongo failed to start" in message and "mongo.log" in message
    assert "Address already in use" in message or "BindException" in message
