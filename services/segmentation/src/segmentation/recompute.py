"""Recompute after a rule change, as a batch job: the customers the new rules can affect, a chunk
at a time in id order from the job's checkpoint, each chunk reassessed and written in one bulk.

Every customer whose segment changes is stamped with the job (``recomputed``: the job's id and
the segmentations that changed). A job resumed after a crash runs the chunk after its checkpoint
again; the customers it had already written there look unchanged now, and their stamp says to
publish their SegmentsAssigned again, from the stored state (consumers apply it once).
"""

from __future__ import annotations

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

    async def run_chunk(self, job: Mapping[str, Any], after: Any) -> Chunk | None:
        service, store = self.service, self.service.store
        current = await store.segmentation(job["segmentation"])
        if current is None:
            return None
        candidates = service._candidates(service._defined(current).definition)
        # The stamped ones too: a customer this job moved out of every segment before a crash
        # is no candidate any more, and its event must still go out.
        query = {"$or": [candidates, {f"{RECOMPUTED}.job": job["_id"]}]}
        docs = await store.page_customers(query, after, self.chunk_size)
        if not docs:
            return None
        events = await self._reassess(job, docs, await service.definitions())
        return Chunk(docs[-1]["_id"], events, {"processed": len(docs), "changed": len(events)})

    async def finish(self, job: Mapping[str, Any]) -> None:
        pass

    async def _reassess(
        self, job: Mapping[str, Any], docs: Sequence[dict[str, Any]], definitions: list[Defined]
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
                segments = self.service._assess(doc, definitions)
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
