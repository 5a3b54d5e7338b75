"""The batch job runner over the real database: chunks from the checkpoint, events before the
checkpoint, resume, supersede, failure."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
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


async def test_a_job_runs_its_chunks_from_start_to_end_and_records_each(mongo_db) -> None:
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
