"""The batch job runner over the real database: chunks from the checkpoint, events before the
checkpoint, resume, supersede, failure; the lease (two replicas contending, a held lease, its
renewal through a slow chunk, a lost lease, an outage)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pymongo.errors import AutoReconnect
from servicekit.batch_jobs import COLLECTION, BatchJobRunner, Chunk
from servicekit.messaging import OutgoingRecord

pytestmark = pytest.mark.servers


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list[OutgoingRecord] = []

    async def publish(self, records: list[OutgoingRecord]) -> None:
        self.published.extend(records)


class Numbering:
    """A kind that pages through ``items`` by id and publishes one event per document; it can
    be told to wait before a chunk, or to fail at one."""

    kind = "numbering"

    def __init__(self, items: Any, chunk_size: int = 10) -> None:
        self.items = items
        self.chunk_size = chunk_size
        self.calls: list[Any] = []
        self.finished: list[str] = []
        self.gate: asyncio.Event | None = None
        self.fail_after: str | None = None

    async def run_chunk(self, job: Mapping[str, Any], after: Any) -> Chunk | None:
        self.calls.append(after)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_after is not None and after == self.fail_after:
            raise RuntimeError("the database went away")
        query = {"_id": {"$gt": after}} if after is not None else {"_id": {"$gte": ""}}
        docs = await self.items.find(query).sort("_id").limit(self.chunk_size).to_list()
        if not docs:
            return None
        events = [OutgoingRecord("topic", d["_id"].encode(), b"{}", []) for d in docs]
        return Chunk(docs[-1]["_id"], events, {"processed": len(docs)}, {"last": docs[-1]["_id"]})

    async def finish(self, job: Mapping[str, Any]) -> None:
        self.finished.append(job["_id"])


async def items(mongo_db, count: int):
    collection = mongo_db["items"]
    await collection.insert_many([{"_id": f"d{i:02d}"} for i in range(count)])
    return collection


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_job_runs_its_chunks_from_start_to_end_and_records_each(mongo_db) -> None:
    metrics_before = (
        sample("cdp_job_chunks_total", kind="numbering"),
        sample("cdp_job_items_total", kind="numbering", counter="processed"),
        sample("cdp_jobs_ended_total", kind="numbering", state="done"),
    )
    kind = Numbering(await items(mongo_db, 25))
    publisher = RecordingPublisher()
    runner = BatchJobRunner(mongo_db[COLLECTION], publisher)  # type: ignore[arg-type]
    runner.register(kind)
    await runner.create_indexes()
    job = await runner.submit("numbering", {"processed": 0})
    await runner.wait(job["_id"])
    stored = await runner.get(job["_id"])
    assert stored is not None
    assert (stored["state"], stored["checkpoint"], stored["processed"]) == ("done", "d24", 25)
    assert stored["last"] == "d24"  # a chunk's fields are recorded with its checkpoint
    assert kind.calls == [None, "d09", "d19", "d24"]
    assert [r.key for r in publisher.published] == [f"d{i:02d}".encode() for i in range(25)]
    assert kind.finished == [job["_id"]]
    assert (
        sample("cdp_job_chunks_total", kind="numbering"),
        sample("cdp_job_items_total", kind="numbering", counter="processed"),
        sample("cdp_jobs_ended_total", kind="numbering", state="done"),
    ) == (metrics_before[0] + 3, metrics_before[1] + 25, metrics_before[2] + 1)


async def test_a_running_job_resumes_from_its_checkpoint(mongo_db) -> None:
    kind = Numbering(await items(mongo_db, 25))
    publisher = RecordingPublisher()
    jobs = mongo_db[COLLECTION]
    # what a process killed after its second chunk's checkpoint leaves
    await jobs.insert_one(
        {"_id": "j1", "kind": "numbering", "state": "running", "checkpoint": "d19", "processed": 20}
    )
    runner = BatchJobRunner(jobs, publisher)  # type: ignore[arg-type]
    runner.register(kind)
    await runner.create_indexes()
    await runner.resume()
    await runner.wait("j1")
    stored = await runner.get("j1")
    assert stored is not None and (stored["state"], stored["processed"]) == ("done", 25)
    assert kind.calls == ["d19", "d24"]
    assert [r.key for r in publisher.published] == [f"d{i}".encode() for i in range(20, 25)]


async def test_a_newer_job_supersedes_a_running_one_at_its_next_chunk(mongo_db) -> None:
    kind = Numbering(await items(mongo_db, 25))
    runner = BatchJobRunner(mongo_db[COLLECTION], RecordingPublisher())  # type: ignore[arg-type]
    runner.register(kind)
    await runner.create_indexes()
    kind.gate = asyncio.Event()
    first = await runner.submit("numbering", {"plan": "p", "processed": 0}, {"plan": "p"})
    await asyncio.sleep(0.1)  # the first job waits inside its first chunk
    second = await runner.submit("numbering", {"plan": "p", "processed": 0}, {"plan": "p"})
    kind.gate.set()
    await runner.wait(first["_id"])
    await runner.wait(second["_id"])
    old, new = await runner.get(first["_id"]), await runner.get(second["_id"])
    assert old is not None and new is not None
    assert (old["state"], old["checkpoint"]) == ("superseded", None)  # its chunk not recorded
    assert (new["state"], new["processed"]) == ("done", 25)


async def test_a_failing_chunk_fails_the_job_and_keeps_its_checkpoint(mongo_db) -> None:
    kind = Numbering(await items(mongo_db, 25))
    kind.fail_after = "d09"
    runner = BatchJobRunner(mongo_db[COLLECTION], RecordingPublisher())  # type: ignore[arg-type]
    runner.register(kind)
    await runner.create_indexes()
    job = await runner.submit("numbering", {"processed": 0})
    await runner.wait(job["_id"])
    stored = await runner.get(job["_id"])
    assert stored is not None
    assert (stored["state"], stored["checkpoint"], stored["processed"]) == ("failed", "d09", 10)
    assert "database went away" in stored["error"] and kind.finished == []


# --- the lease: one replica runs a job, another goes on after it crashed


def replica(mongo_db, items_collection, name: str, lease_seconds: float = 30.0):
    kind = Numbering(items_collection)
    publisher = RecordingPublisher()
    runner = BatchJobRunner(
        mongo_db[COLLECTION],
        publisher,  # type: ignore[arg-type]
        lease_seconds=lease_seconds,
        owner=name,
    )
    runner.register(kind)
    return runner, kind, publisher


async def test_of_two_replicas_resuming_at_once_one_runs_the_job(mongo_db) -> None:
    collection = await items(mongo_db, 25)
    jobs = mongo_db[COLLECTION]
    # what a crashed process leaves: a running job whose lease expired
    expired = {"owner": "crashed", "expires": datetime.now(UTC) - timedelta(seconds=1)}
    await jobs.insert_one(
        {
            "_id": "j1",
            "kind": "numbering",
            "state": "running",
            "checkpoint": "d09",
            "lease": expired,
        }
    )
    (a, kind_a, pub_a), (b, kind_b, pub_b) = (
        replica(mongo_db, collection, "a"),
        replica(mongo_db, collection, "b"),
    )
    await a.create_indexes()
    try:
        await asyncio.gather(a.resume(), b.resume())
        await asyncio.gather(a.wait("j1"), b.wait("j1"))
    finally:
        await asyncio.gather(a.stop(), b.stop())
    assert sorted(kind_a.calls + kind_b.calls) == ["d09", "d19", "d24"], (
        "each chunk after the checkpoint ran once"
    )
    assert [] in (kind_a.calls, kind_b.calls), "one replica ran the job"
    keys = [r.key for r in pub_a.published + pub_b.published]
    assert sorted(keys) == [f"d{i}".encode() for i in range(10, 25)], "each event once"
    stored = await jobs.find_one({"_id": "j1"})
    assert stored is not None and stored["state"] == "done"
    assert stored["lease"]["owner"] in ("a", "b")


async def test_a_job_whose_lease_is_held_is_left_alone_until_it_expires(mongo_db) -> None:
    collection = await items(mongo_db, 25)
    jobs = mongo_db[COLLECTION]
    held = {"owner": "elsewhere", "expires": datetime.now(UTC) + timedelta(seconds=1.5)}
    await jobs.insert_one(
        {"_id": "j1", "kind": "numbering", "state": "running", "checkpoint": "d19", "lease": held}
    )
    runner, kind, publisher = replica(mongo_db, collection, "late", lease_seconds=0.6)
    await runner.create_indexes()
    try:
        await runner.resume()
        assert runner.running == set() and kind.calls == [], "another replica holds it"
        for _ in range(40):  # the runner looks again every 0.2 s
            await asyncio.sleep(0.1)
            if (await jobs.find_one({"_id": "j1"}) or {}).get("state") == "done":
                break
    finally:
        await runner.stop()
    assert kind.calls == ["d19", "d24"], "taken over from its checkpoint after the expiry"
    assert [r.key for r in publisher.published] == [f"d{i}".encode() for i in range(20, 25)]


async def test_a_running_replica_keeps_its_lease_through_a_slow_chunk(mongo_db) -> None:
    collection = await items(mongo_db, 25)
    a, kind_a, pub_a = replica(mongo_db, collection, "a", lease_seconds=0.6)
    b, kind_b, _ = replica(mongo_db, collection, "b", lease_seconds=0.6)
    await a.create_indexes()
    kind_a.gate = asyncio.Event()
    try:
        await a.resume()
        await b.resume()
        job = await a.submit("numbering", {"processed": 0})
        await asyncio.sleep(2.0)  # three leases long: renewed by a, never expired for b
        assert kind_b.calls == [], "the other replica did not take a job that runs"
        kind_a.gate.set()
        await a.wait(job["_id"])
        await asyncio.sleep(0.3)
    finally:
        await asyncio.gather(a.stop(), b.stop())
    assert kind_b.calls == [] and len(pub_a.published) == 25
    stored = await a.get(job["_id"])
    assert stored is not None and (stored["state"], stored["processed"]) == ("done", 25)


async def test_a_replica_that_lost_its_lease_records_no_checkpoint(mongo_db) -> None:
    collection = await items(mongo_db, 25)
    runner, kind, _ = replica(mongo_db, collection, "paused")
    await runner.create_indexes()
    kind.gate = asyncio.Event()
    job = await runner.submit("numbering", {"processed": 0})
    await asyncio.sleep(0.1)  # in its first chunk, as if paused past its lease
    taken = {"owner": "other", "expires": datetime.now(UTC) + timedelta(seconds=30)}
    await mongo_db[COLLECTION].update_one({"_id": job["_id"]}, {"$set": {"lease": taken}})
    kind.gate.set()
    await runner.wait(job["_id"])
    stored = await runner.get(job["_id"])
    assert stored is not None
    assert (stored["state"], stored["checkpoint"], stored["lease"]["owner"]) == (
        "running",
        None,
        "other",
    ), "the new holder goes on; the old one wrote nothing on the job"
    assert kind.calls == [None]


async def test_an_outage_in_a_chunk_pauses_the_job_instead_of_failing_it(mongo_db) -> None:
    collection = await items(mongo_db, 25)
    runner, kind, publisher = replica(mongo_db, collection, "a", lease_seconds=0.6)
    await runner.create_indexes()
    original = kind.run_chunk
    failures = [AutoReconnect("connection refused")]

    async def flaky(job: Mapping[str, Any], after: Any) -> Chunk | None:
        if after == "d09" and failures:
            raise failures.pop()
        return await original(job, after)

    kind.run_chunk = flaky  # type: ignore[method-assign]
    try:
        await runner.resume()
        job = await runner.submit("numbering", {"processed": 0})
        for _ in range(40):
            await asyncio.sleep(0.1)
            if (await runner.get(job["_id"]) or {}).get("state") == "done":
                break
    finally:
        await runner.stop()
    stored = await runner.get(job["_id"])
    assert stored is not None and (stored["state"], stored["processed"]) == ("done", 25)
    assert len(publisher.published) == 25, "taken again from its checkpoint"
