"""The in-document outbox: no event is lost without multi-document transactions.

A change and the events it causes are one atomic single-document write: the update pushes the
encoded events onto the document's ``outbox`` array. Right after the write the relay publishes
them and pulls them off again. A crash in between leaves them in the document, where the sweep
finds and publishes them: at start-up (everything a crashed predecessor left), after a failed
delivery in this process, and now and then for replicas that crashed and never came back. The
sweep finds them by a sparse multikey index on the entries' times (``outbox_pending``, which the
relay creates), so it reads the few documents with pending entries, not the collection. Sweeps after
start-up take only entries older than the check interval, so they do not race the writer that is
publishing them right now. Events may still be published twice (a crash after the publish,
before the clear); every event carries its aggregate's version or id and consumers apply each
once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.envelope import Envelope
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from servicekit import faults, metrics
from servicekit.logging import get_logger
from servicekit.messaging import OutgoingRecord, Publisher

FIELD = "outbox"
PENDING = f"{FIELD}.at"  # the pending entries' times; absent when the outbox is empty
log = get_logger(__name__)


def entry(topic: str, key: str, envelope: Envelope) -> dict[str, Any]:
    """An outbox entry, ready to ``$push`` in the same update as the change."""
    return {
        "id": uuid.uuid4().hex,
        "at": datetime.now(UTC),
        "topic": topic,
        "key": key,
        # bytes are stored as BSON binary (subtype 0) and read back as bytes: no bson.Binary,
        # whose construction cost more than the rest of the entry
        "headers": [[name, value] for name, value in envelope.headers()],
        "value": envelope.body(),
    }


def to_record(item: Mapping[str, Any]) -> OutgoingRecord:
    """The Kafka record an outbox entry (or a consumer slot's event) stands for."""
    return OutgoingRecord(
        topic=item["topic"],
        key=item["key"].encode(),
        value=bytes(item["value"]),
        headers=[(name, bytes(value)) for name, value in item["headers"]],
    )


class OutboxRelay:
    """Publishes and clears the outbox entries of one collection."""

    def __init__(
        self,
        collection: AsyncCollection,
        publisher: Publisher,
        sweep_seconds: float = 5.0,
        safety_sweep_seconds: float = 600.0,
        sweep_batch: int = 1000,
    ) -> None:
        self._collection = collection
        self._publisher = publisher
        self._sweep_seconds = sweep_seconds
        self._safety_sweep_seconds = safety_sweep_seconds
        self._sweep_batch = sweep_batch
        self._failed_since_sweep = False
        self._task: asyncio.Task[None] | None = None

    async def deliver(self, pending: Mapping[Any, Iterable[Mapping[str, Any]]]) -> None:
        """Publish the entries just written (document id -> entries), then clear them."""
        entries = [(doc_id, item) for doc_id, items in pending.items() for item in items]
        if not entries:
            return
        faults.crash_point(faults.AFTER_STORE)
        try:
            await self._publisher.publish([to_record(item) for _, item in entries])
            faults.crash_point(faults.AFTER_PUBLISH)
            # One $pull per document, naming only its own entries: a single update_many with
            # every id would match each entry against the whole list (slow on the stand-in).
            await self._collection.bulk_write(
                [
                    UpdateOne(
                        {"_id": doc_id},
                        {"$pull": {FIELD: {"id": {"$in": [i["id"] for i in items]}}}},
                    )
                    for doc_id, items in pending.items()
                    if items
                ],
                ordered=False,
            )
        except Exception:
            self._failed_since_sweep = True  # the entries stay; the next check sweeps them
            raise

    async def create_index(self) -> None:
        """The index the sweep reads (sparse: documents with an empty outbox are not in it). A
        document qualifies when any entry is older than the cutoff; entries are pushed in time
        order, so that is its first."""
        await self._collection.create_index(
            [(PENDING, ASCENDING)], name="outbox_pending", sparse=True
        )

    async def sweep(self, min_age_seconds: float = 0.0) -> int:
        """Publish the entries left in documents (those older than ``min_age_seconds``); returns
        how many entries it delivered."""
        delivered = 0
        cutoff = datetime.now(UTC) - timedelta(seconds=min_age_seconds)
        while True:
            docs = await self._collection.find({PENDING: {"$lt": cutoff}}, {FIELD: 1}).to_list(
                self._sweep_batch
            )
            if not docs:
                return delivered
            await self.deliver({doc["_id"]: doc[FIELD] for doc in docs})
            delivered += sum(len(doc[FIELD]) for doc in docs)

    async def start(self) -> None:
        await self.create_index()
        await self.sweep()
        self._task = asyncio.create_task(self._sweep_forever(), name="outbox-sweep")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def pending(self) -> int:
        """Documents holding entries (by the sweep's index); also set as the gauge."""
        count = await self._collection.count_documents({PENDING: {"$lt": datetime.now(UTC)}})
        metrics.OUTBOX_PENDING.labels(self._collection.name).set(count)
        return count

    async def _sweep_forever(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self._sweep_seconds)
            try:
                await self.pending()
            except Exception:  # a gauge is no reason to stop sweeping
                log.warning("could not count the outbox's pending documents", exc_info=True)
            due = time.monotonic() - last >= self._safety_sweep_seconds
            if not (self._failed_since_sweep or due):
                continue
            self._failed_since_sweep = False
            last = time.monotonic()
            try:
                count = await self.sweep(min_age_seconds=self._sweep_seconds)
                if count:
                    log.warning("outbox sweep published leftovers", entries=count)
            except Exception:
                self._failed_since_sweep = True
                log.exception("outbox sweep failed; retrying at the next interval")
