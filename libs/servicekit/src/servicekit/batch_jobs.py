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

One replica runs a job: the job document holds a lease, ``lease: {owner, expires}``, taken and
renewed with conditional single-document updates (no transactions, no change streams: it works on
the dev stand-in and on MongoDB alike). The replica that submits a job takes its lease; while the
job runs, its runner renews the lease every third of ``lease_seconds`` and records each checkpoint
only while it still holds it. A runner that finds its lease gone (taken by another after it
expired: a long pause, a partition from the database) stops the job's task; at worst the chunk it
was in is written twice, which every kind already allows (a resumed chunk runs again). Every
runner looks for running jobs whose lease expired (their replica crashed, or was stopped without
giving them up) at start-up and then every third of ``lease_seconds``, takes the lease with a
conditional update (one of several contending replicas wins), and goes on from the checkpoint. A
runner that stops gives up its jobs' leases, so a restarted or another replica goes on at once.

A chunk that fails on an outage of the database or Kafka (servicekit.outages) does not fail the
job: the runner gives its lease up and the job is taken again at a later look, from its
checkpoint. Any other exception fails the job (its document says why).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from servicekit import faults, metrics, outages
from servicekit.logging import get_logger
from servicekit.messaging import OutgoingRecord, Publisher

COLLECTION = "batch_jobs"
RUNNING, DONE, FAILED, SUPERSEDED = "running", "done", "failed", "superseded"
LEASE = "lease"  # {"owner": the runner's id, "expires": when another runner may take the job}
LEASE_SECONDS = 30.0
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
    """Runs the service's batch jobs in the background, one task per job, each under a lease
    that this runner (``owner``: unique per process) holds while the task runs."""

    def __init__(
        self,
        collection: AsyncCollection,
        publisher: Publisher,
        *,
        lease_seconds: float = LEASE_SECONDS,
        owner: str | None = None,
    ) -> None:
        self._collection = collection
        self._publisher = publisher
        self._kinds: dict[str, BatchJob] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        self._keeper: asyncio.Task[None] | None = None
        self.lease_seconds = lease_seconds
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

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
        if not self._stopping:  # else no lease: the next runner to look takes it at once
            job[LEASE] = self._lease(now)
        await self._collection.insert_one(job)
        self._launch(job)
        return job

    async def get(self, job_id: str) -> dict[str, Any] | None:
        return await self._collection.find_one({"_id": job_id})

    async def resume(self) -> None:
        """At start-up: take the running jobs whose lease is free or expired and go on from
        their checkpoints; then keep the leases of this runner's jobs and look again every
        third of the lease."""
        self._stopping = False
        await self.take_orphans()
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.create_task(self._keep(), name="batch-job-leases")

    async def take_orphans(self) -> list[str]:
        """Take the lease of every running job of a registered kind whose lease is free or
        expired, and run it; returns their ids. Of several runners that look at once, one
        takes each job."""
        taken: list[str] = []
        now = datetime.now(UTC)
        query = {"state": RUNNING, "kind": {"$in": [*self._kinds]}}
        async for job in self._collection.find(query, {"_id": 1, LEASE: 1}):
            lease = job.get(LEASE) or {}
            if job["_id"] in self._tasks or self._stopping:
                continue
            if lease.get("owner") is not None and lease["expires"].replace(tzinfo=UTC) > now:
                continue  # another runner holds it
            claimed = await self._claim(job["_id"])
            if claimed is not None:
                log.info("resuming batch job", job=claimed["_id"], kind=claimed["kind"])
                self._launch(claimed)
                taken.append(claimed["_id"])
        return taken

    async def stop(self) -> None:
        """Cancel every job task, also one a request started while the others were ending (its
        job stays stored as running, its lease given up: the next runner to look resumes it)."""
        self._stopping = True
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        while self._tasks:
            for job_id, task in list(self._tasks.items()):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await self._release(job_id)

    async def wait(self, job_id: str) -> None:
        """Until the job's task in this process ends (tests and callers that must not race it)."""
        task = self._tasks.get(job_id)
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)

    def _lease(self, now: datetime) -> dict[str, Any]:
        return {"owner": self.owner, "expires": now + timedelta(seconds=self.lease_seconds)}

    async def _claim(self, job_id: str) -> dict[str, Any] | None:
        """Take the job's lease if it is free, expired or already this runner's (a conditional
        update: of two runners claiming at once, one matches)."""
        now = datetime.now(UTC)
        return await self._collection.find_one_and_update(
            {
                "_id": job_id,
                "state": RUNNING,
                "$or": [
                    {LEASE: None},
                    {f"{LEASE}.expires": {"$lte": now}},
                    {f"{LEASE}.owner": self.owner},
                ],
            },
            {"$set": {LEASE: self._lease(now)}},
            return_document=ReturnDocument.AFTER,
        )

    async def _renew(self, job_id: str) -> bool:
        """Push the lease's expiry on, if this runner still holds it and the job still runs."""
        result = await self._collection.update_one(
            {"_id": job_id, "state": RUNNING, f"{LEASE}.owner": self.owner},
            {"$set": {f"{LEASE}.expires": self._lease(datetime.now(UTC))["expires"]}},
        )
        return result.matched_count == 1

    async def _release(self, job_id: str) -> None:
        """Give the lease up (the job stays as it is): another runner may take it at once."""
        try:
            await self._collection.update_one(
                {"_id": job_id, f"{LEASE}.owner": self.owner}, {"$unset": {LEASE: ""}}
            )
        except Exception as exc:  # the database away: the lease expires by itself
            log.warning("could not give up a batch job's lease", job=job_id, error=repr(exc))

    async def _keep(self) -> None:
        """Renew this runner's leases and take orphaned jobs, every third of the lease."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                for job_id, task in list(self._tasks.items()):
                    if not task.done() and not await self._renew(job_id):
                        log.warning("batch job's lease lost: stopping it here", job=job_id)
                        task.cancel()
                await self.take_orphans()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # an outage: try again at the next round
                log.warning("batch job leases not kept this round", error=repr(exc))

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
                    log.info("batch job superseded or taken over", job=job["_id"])
                    return
                job = recorded
                metrics.JOB_CHUNKS.labels(job["kind"]).inc()
                for counter, count in chunk.counts.items():
                    metrics.JOB_ITEMS.labels(job["kind"], counter).inc(count)
            await kind.finish(job)
            await self._set(job["_id"], state=DONE, finished_at=datetime.now(UTC))
            metrics.JOBS_ENDED.labels(job["kind"], DONE).inc()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if outages.is_outage(exc):  # not the job's fault: another look takes it again
                log.warning("batch job paused by an outage", job=job["_id"], error=repr(exc))
                await self._release(job["_id"])
                return
            log.exception("batch job failed", job=job["_id"], kind=job["kind"])
            await self._set(job["_id"], state=FAILED, error=repr(exc))
            metrics.JOBS_ENDED.labels(job["kind"], FAILED).inc()

    async def _checkpoint(self, job_id: str, after: Any, chunk: Chunk) -> dict[str, Any] | None:
        """Record the chunk: the new checkpoint, counters and fields, and renew the lease, if
        the job still runs under this runner's lease (None if it was superseded or its lease
        taken meanwhile)."""
        now = datetime.now(UTC)
        fields = {
            **chunk.fields,
            "checkpoint": after,
            "updated_at": now,
            f"{LEASE}.expires": self._lease(now)["expires"],
        }
        update: dict[str, Any] = {"$set": fields}
        if chunk.counts:
            update["$inc"] = dict(chunk.counts)
        return await self._collection.find_one_and_update(
            {"_id": job_id, "state": RUNNING, f"{LEASE}.owner": self.owner},
            update,
            return_document=ReturnDocument.AFTER,
        )

    async def _set(self, job_id: str, **fields: Any) -> None:
        await self._collection.update_one(
            {"_id": job_id, "state": RUNNING, f"{LEASE}.owner": self.owner},
            {"$set": {**fields, "updated_at": datetime.now(UTC)}},
        )
