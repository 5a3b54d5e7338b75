"""Batch jobs that survive a crash: recomputes, rebuilds, imports and other work over many
documents, done chunk by chunk from a stored checkpoint.

A job is a document in the service's ``batch_jobs`` collection: its ``kind``, its parameters,
``state`` (running, done, failed, superseded), ``checkpoint`` (the key after which work goes on)
and counters. Per chunk a kind reads the next page by an indexed key after the checkpoint
(``{"_id": {"$gt": last}}`` sorted by it, limited: never one cursor over the whole collection, the
dev database builds a cursor's result in its heap), writes the chunk in one bulk and returns its
events; the runner publishes them, then records the checkpoint in one small write. There is no
outbox on this path: a crash after the write and before the checkpoint leaves a chunk done but
not recorded, and the resumed job runs that chunk again. So a kind must return, for a chunk it
already wrote, the events that write caused, recomputed from the stored state (each kind stamps
the documents it changes with the job's id for that); consumers downstream are idempotent.

Jobs left running by a stopped process are resumed at start-up. Issue 12 adds a lease (an owner
and an expiry on the same document) so that one replica runs a job; until then every replica
resumes the running jobs it finds, which is right for one replica per service.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from servicekit import faults
from servicekit.logging import get_logger
from servicekit.messaging import OutgoingRecord, Publisher

COLLECTION = "batch_jobs"
RUNNING, DONE, FAILED, SUPERSEDED = "running", "done", "failed", "superseded"
log = get_logger(__name__)


def after(checkpoint: str | None) -> dict[str, Any]:
    """The filter of a page after a checkpoint, by string ``_id``: the first page too is a range
    (from the smallest string), so that the server walks the ``_id`` index in order and stops at
    the page's limit instead of sorting the whole collection."""
    if checkpoint is None:
        return {"_id": {"$gte": ""}}
    return {"_id": {"$gt": checkpoint}}


@dataclass
class Chunk:
    """What one chunk did: the key to go on after, its events, counters to add and fields to
    set on the job (its progress as of this checkpoint), recorded with the checkpoint."""

    checkpoint: Any
    events: Sequence[OutgoingRecord] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    fields: Mapping[str, Any] = field(default_factory=dict)


class BatchJob(Protocol):
    """One kind of batch job."""

    kind: str

    async def run_chunk(self, job: Mapping[str, Any], after: Any) -> Chunk | None:
        """Do the chunk after ``after`` (None: from the start) in one bulk write and return it;
        None when nothing is left. A chunk written before a crash is run again on resume: return
        the events its earlier write caused (from the stored state) as if it had just made them."""
        ...

    async def finish(self, job: Mapping[str, Any]) -> None:
        """What the job does once every chunk is done (may be nothing)."""
        ...


class BatchJobRunner:
    """Runs the service's batch jobs in the background, one task per job."""

    def __init__(self, collection: AsyncCollection, publisher: Publisher) -> None:
        self._collection = collection
        self._publisher = publisher
        self._kinds: dict[str, BatchJob] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = False

    @property
    def running(self) -> set[str]:
        """The ids of the jobs whose task runs in this process."""
        return set(self._tasks)

    def register(self, kind: BatchJob) -> None:
        self._kinds[kind.kind] = kind

    async def create_indexes(self) -> None:
        await self._collection.create_index(
            [("state", ASCENDING), ("kind", ASCENDING)], name="state_kind"
        )

    async def submit(
        self,
        kind: str,
        fields: Mapping[str, Any],
        supersedes: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Store a new job of ``kind`` with ``fields`` (its parameters and any counters it shows)
        and start it. Running jobs of the same kind matching ``supersedes`` stop at their next
        chunk: the new one does their work too."""
        if kind not in self._kinds:
            raise ValueError(f"no batch job kind {kind!r} is registered")
        if supersedes is not None:
            await self._collection.update_many(
                {"kind": kind, "state": RUNNING, **supersedes},
                {"$set": {"state": SUPERSEDED, "updated_at": datetime.now(UTC)}},
            )
        now = datetime.now(UTC)
        job = {
            "_id": uuid.uuid4().hex,
            **fields,
            "kind": kind,
            "state": RUNNING,
            "checkpoint": None,
            "started_at": now,
            "updated_at": now,
        }
        await self._collection.insert_one(job)
        self._launch(job)
        return job

    async def get(self, job_id: str) -> dict[str, Any] | None:
        return await self._collection.find_one({"_id": job_id})

    async def resume(self) -> None:
        """At start-up: jobs a stopped process left running go on from their checkpoint."""
        self._stopping = False
        async for job in self._collection.find({"state": RUNNING, "kind": {"$in": [*self._kinds]}}):
            if job["_id"] not in self._tasks:
                log.info("resuming batch job", job=job["_id"], kind=job["kind"])
                self._launch(job)

    async def stop(self) -> None:
        """Cancel every job task, also one a request started while the others were ending (its
        job stays stored as running: the next start resumes it)."""
        self._stopping = True
        while self._tasks:
            for task in list(self._tasks.values()):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def wait(self, job_id: str) -> None:
        """Until the job's task in this process ends (tests and callers that must not race it)."""
        task = self._tasks.get(job_id)
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)

    def _launch(self, job: dict[str, Any]) -> None:
        if self._stopping:
            log.info("batch job left for the next start", job=job["_id"], kind=job["kind"])
            return
        task = asyncio.create_task(self._run(job), name=f"batch-job-{job['kind']}")
        self._tasks[job["_id"]] = task
        task.add_done_callback(lambda _: self._tasks.pop(job["_id"], None))

    async def _run(self, job: dict[str, Any]) -> None:
        kind = self._kinds[job["kind"]]
        after = job.get("checkpoint")
        try:
            while True:
                chunk = await kind.run_chunk(job, after)
                if chunk is None:
                    break
                faults.crash_point(faults.JOB_AFTER_WRITE)
                await self._publisher.publish(list(chunk.events))
                faults.crash_point(faults.JOB_AFTER_PUBLISH)
                after = chunk.checkpoint
                recorded = await self._checkpoint(job["_id"], after, chunk)
                if recorded is None:
                    log.info("batch job superseded", job=job["_id"], kind=job["kind"])
                    return
                job = recorded
            await kind.finish(job)
            await self._set(job["_id"], state=DONE, finished_at=datetime.now(UTC))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the job document says so; the service keeps serving
            log.exception("batch job failed", job=job["_id"], kind=job["kind"])
            await self._set(job["_id"], state=FAILED, error=repr(exc))

    async def _checkpoint(self, job_id: str, after: Any, chunk: Chunk) -> dict[str, Any] | None:
        """Record the chunk: the new checkpoint, counters and fields, if the job still runs
        (None if it was superseded meanwhile)."""
        fields = {**chunk.fields, "checkpoint": after, "updated_at": datetime.now(UTC)}
        update: dict[str, Any] = {"$set": fields}
        if chunk.counts:
            update["$inc"] = dict(chunk.counts)
        return await self._collection.find_one_and_update(
            {"_id": job_id, "state": RUNNING}, update, return_document=ReturnDocument.AFTER
        )

    async def _set(self, job_id: str, **fields: Any) -> None:
        await self._collection.update_one(
            {"_id": job_id, "state": RUNNING},
            {"$set": {**fields, "updated_at": datetime.now(UTC)}},
        )
