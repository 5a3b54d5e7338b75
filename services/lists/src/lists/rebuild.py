"""A plan's list rebuilt from every known customer, as a batch job: customers a chunk at a time
in id order from the job's checkpoint, their memberships decided and written in one bulk.

A membership the job moves (into or out of the list) is stamped with the job's id. A job resumed
after a crash runs the chunk after its checkpoint again; memberships it had already moved there
look unchanged now, and their stamp says to publish their ListMembershipChanged again, from the
stored membership (consumers apply it once).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from contracts.topics import LISTS_EVENTS
from servicekit.batch_jobs import Chunk
from servicekit.messaging import OutgoingRecord

from lists.handlers import REBUILD, ListsService
from lists.store import REBUILT, MembershipWrite, membership_id


class PlanListRebuild:
    kind = REBUILD

    def __init__(self, service: ListsService, chunk_size: int) -> None:
        self.service = service
        self.chunk_size = chunk_size

    async def run_chunk(self, job: Mapping[str, Any], after: Any) -> Chunk | None:
        service, store = self.service, self.service.store
        plans = await service._active_plans([job["plan_id"]])
        if not plans:
            return None  # the plan is gone
        docs = await store.page_customers(after, self.chunk_size)
        if not docs:
            return None
        ids = [doc["_id"] for doc in docs]
        ((plan, _),) = plans
        existing = await store.memberships_by_id([membership_id(plan.id, cid) for cid in ids])
        changes = service.decide(
            ids,
            dict.fromkeys(ids, (job["cause"], None)),
            plans,
            {doc["_id"]: doc for doc in docs},
            existing,
            await store.levels(),
        )
        writes: list[MembershipWrite] = []
        moved: dict[str, dict[str, Any]] = {}
        for change in changes:
            membership = change.membership
            if change.moved:
                membership = {**membership, REBUILT: job["_id"]}
                moved[membership["_id"]] = membership
            writes.append(MembershipWrite(membership, []))
        for mid, old in existing.items():
            if old.get(REBUILT) == job["_id"] and mid not in moved:
                moved[mid] = old  # moved by this job before a crash: its event again
        await store.write_memberships(writes)
        topic = service.settings.topic(LISTS_EVENTS.name)
        events = [
            OutgoingRecord.of(topic, m["customer_id"], service.changed_envelope(plan, m, None))
            for m in moved.values()
        ]
        return Chunk(ids[-1], events, {"processed": len(ids), "changed": len(events)})

    async def finish(self, job: Mapping[str, Any]) -> None:
        await self.service.store.update(
            "plans", job["plan_id"], {}, {"list_built_at": datetime.now(UTC)}
        )
