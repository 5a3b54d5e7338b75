"""Recompute after a rule change, as a batch job: the customers the new rules can affect, a chunk
at a time in id order from the job's checkpoint, each chunk reassessed and written in one bulk.

Only the job's segmentation is assessed again (the others' rules did not change), and the
next chunk's page is read while the current one is assessed and written: the database reads
page k + 1 as it writes page k. A page read ahead may be stale by the time it is written; each
write is conditional on the revision read, and a customer that changed meanwhile is read again.

Every customer whose segment changes is stamped with the job (``recomputed``: the job's id and
the segmentations that changed). A job resumed after a crash runs the chunk after its checkpoint
again; the customers it had already written there look unchanged now, and their stamp says to
publish their SegmentsAssigned again, from the stored state (consumers apply it once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from contracts.segmentation_events import SegmentsAssigned
from contracts.topics import SEGMENT_ASSIGNMENTS
from servicekit.batch_jobs import Chunk
from servicekit.logging import correlation_id
from servicekit.messaging import OutgoingRecord

from segmentation.handlers import (
    MAX_RACE_RETRIES,
    RECOMPUTE,
    SOURCE,
    Defined,
    SegmentationService,
    _assignments,
)
from segmentation.store import RECOMPUTED


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return sorted(
        code
        for code in set(before) | set(after)
        if before.get(code, {}).get("segment") != after.get(code, {}).get("segment")
    )


class Recompute:
    kind = RECOMPUTE

    def __init__(self, service: SegmentationService, chunk_size: int) -> None:
        self.service = service
        self.chunk_size = chunk_size
        # the page read ahead: (job, rule version, after) and the read under way
        self._ahead: tuple[tuple[str, int, Any], asyncio.Task[list[dict[str, Any]]]] | None = None

    async def run_chunk(self, job: Mapping[str, Any], after: Any) -> Chunk | None:
        service = self.service
        current = await service.store.segmentation(job["segmentation"])
        if current is None:
            return None
        defined = service._defined(current)
        candidates = service._candidates(defined.definition)
        # The stamped ones too: a customer this job moved out of every segment before a crash
        # is no candidate any more, and its event must still go out.
        query = {"$or": [candidates, {f"{RECOMPUTED}.job": job["_id"]}]}
        docs = await self._page(job, defined.version, query, after)
        if not docs:
            return None
        self._read_ahead(job, defined.version, query, docs[-1]["_id"])
        events = await self._reassess(job, docs, defined)
        return Chunk(docs[-1]["_id"], events, {"processed": len(docs), "changed": len(events)})

    async def finish(self, job: Mapping[str, Any]) -> None:
        self._drop_ahead()

    async def _page(
        self, job: Mapping[str, Any], version: int, query: Mapping[str, Any], after: Any
    ) -> list[dict[str, Any]]:
        """The page after ``after``: the one read ahead if it is this one, else read now."""
        if self._ahead is not None and self._ahead[0] == (job["_id"], version, after):
            read = self._ahead[1]
            self._ahead = None
            return await read
        self._drop_ahead()
        return await self.service.store.page_customers(query, after, self.chunk_size)

    def _read_ahead(
        self, job: Mapping[str, Any], version: int, query: Mapping[str, Any], after: Any
    ) -> None:
        read = asyncio.create_task(
            self.service.store.page_customers(query, after, self.chunk_size),
            name="recompute-read-ahead",
        )
        # a read nobody awaits (the job superseded or stopped) must not log an unread error
        read.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._ahead = ((job["_id"], version, after), read)

    def _drop_ahead(self) -> None:
        if self._ahead is not None:
            self._ahead[1].cancel()
            self._ahead = None

    async def _reassess(
        self, job: Mapping[str, Any], docs: Sequence[dict[str, Any]], defined: Defined
    ) -> list[OutgoingRecord]:
        """Write the chunk's changed customers in one bulk (each only if its revision is still
        the one read; those that raced are read again) and return their events."""
        store = self.service.store
        pending = {doc["_id"]: doc for doc in docs}
        events: list[OutgoingRecord] = []
        for _ in range(MAX_RACE_RETRIES):
            writes: list[tuple[int, dict[str, Any]]] = []
            wanted: dict[str, OutgoingRecord] = {}
            for cid, doc in pending.items():
                segments = {**doc.get("segments", {}), **self.service._assess(doc, [defined])}
                changed = _changed(doc.get("segments", {}), segments)
                if changed:
                    new = {
                        **doc,
                        "segments": segments,
                        "revision": doc.get("revision", 0) + 1,
                        RECOMPUTED: {"job": job["_id"], "changed": changed},
                    }
                    writes.append((doc.get("revision", 0), new))
                    wanted[cid] = self._event(job, new, changed)
                elif doc.get(RECOMPUTED, {}).get("job") == job["_id"]:
                    # written by this job before a crash: its event again, as stored now
                    wanted[cid] = self._event(job, doc, doc[RECOMPUTED]["changed"])
            raced = await store.write_recomputed(writes)
            events += [event for cid, event in wanted.items() if cid not in raced]
            if not raced:
                return events
            pending = await store.customers_by_id(sorted(raced))
        raise RuntimeError(f"customers kept changing under the recompute: {sorted(pending)}")

    def _event(
        self, job: Mapping[str, Any], doc: Mapping[str, Any], changed: list[str]
    ) -> OutgoingRecord:
        event = SegmentsAssigned(
            customer_id=doc["_id"],
            revision=doc["revision"],
            assignments=_assignments(doc),
            changed=changed,
            cause="rule-change",
            caused_by=f"segmentation:{job['segmentation']}:{job['version']}",
        )
        envelope = event.envelope(
            source=SOURCE, subject=doc["_id"], correlation_id=correlation_id.get()
        )
        topic = self.service.settings.topic(SEGMENT_ASSIGNMENTS.name)
        return OutgoingRecord.of(topic, doc["_id"], envelope)
