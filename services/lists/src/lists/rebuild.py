"""A plan's list rebuilt from every known customer, as a batch job: customers a chunk at a time
in id order from the job's checkpoint, their memberships decided and written in one bulk.

A membership the job moves (into or out of the list) is stamped with the job's id. A job resumed
after a crash runs the chunk after its checkpoint again; memberships it had already moved there
look unchanged now, and their stamp says to publish their ListMembershipChanged again, from the
stored membership (consumers apply it once).

A rebuild never undoes a newer decision (a manual addition or removal, a customer or segment
event) made while it ran. It reads each membership before the plan, team and customers it
decides from, and writes it only if its sequence is still the one read (another writer's write
changes it). A newer decision that wrote nothing (the customer was never in the list and still
is not) changed the plan, team or customer it came from: after its write the job reads their
versions again, and decides every customer whose inputs changed once more, from a fresh read.
Only the memberships as finally written are published.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from contracts.topics import LISTS_EVENTS
from servicekit.batch_jobs import Chunk
from servicekit.messaging import OutgoingRecord

from lists.handlers import MAX_DECISION_ROUNDS, REBUILD, ListsService
from lists.store import REBUILT, MembershipWrite, membership_id

Versions = dict[str, tuple[Any, ...]]  # customer id -> what its decision was made from


class PlanListRebuild:
    kind = REBUILD

    def __init__(self, service: ListsService, chunk_size: int) -> None:
        self.service = service
        self.chunk_size = chunk_size

    async def run_chunk(self, job: Mapping[str, Any], after: Any) -> Chunk | None:
        store = self.service.store
        page = await store.page_customers(after, self.chunk_size)
        if not page:
            return None
        ids = [doc["_id"] for doc in page]
        plan_id = job["plan_id"]
        moved: dict[str, dict[str, Any]] = {}
        first = await store.memberships_by_id([membership_id(plan_id, cid) for cid in ids])
        for mid, old in first.items():
            if old.get(REBUILT) == job["_id"]:
                moved[mid] = old  # moved by this job before a crash: its event again
        pending: Sequence[str] = ids
        plan = None
        for _ in range(MAX_DECISION_ROUNDS):
            decided = await self._decide_and_write(job, pending, moved)
            if decided is None:
                return None  # the plan is gone or was submitted
            plan, versions, conflicted = decided
            now = await self._versions(plan_id, pending)
            pending = sorted(conflicted | {cid for cid in pending if now[cid] != versions[cid]})
            if not pending:
                break
        else:
            raise RuntimeError(f"plan {plan_id}: {pending} kept changing under the rebuild")
        topic = self.service.settings.topic(LISTS_EVENTS.name)
        events = [
            OutgoingRecord.of(topic, m["customer_id"], self.service.changed_envelope(plan, m, None))
            for m in moved.values()
        ]
        return Chunk(ids[-1], events, {"processed": len(ids), "changed": len(events)})

    async def _decide_and_write(
        self, job: Mapping[str, Any], ids: Sequence[str], moved: dict[str, dict[str, Any]]
    ) -> tuple[Any, Versions, set[str]] | None:
        """Decide the customers from a fresh read (memberships first) and write what changed,
        each write conditional on the membership's sequence as read; ``moved`` takes the
        memberships this job moved. Returns the plan, the versions decided from, and the
        customers whose membership changed under the decision (not written)."""
        service, store = self.service, self.service.store
        owners = {membership_id(job["plan_id"], cid): cid for cid in ids}
        existing = await store.memberships_by_id(list(owners))
        versions = await self._versions(job["plan_id"], ids)
        plans = await service._active_plans([job["plan_id"]])
        if not plans:
            return None
        docs = await store.customers_by_id(ids)
        changes = service.decide(
            ids,
            dict.fromkeys(ids, (job["cause"], None)),
            plans,
            docs,
            existing,
            await store.levels(),
        )
        writes: list[MembershipWrite] = []
        for change in changes:
            membership = change.membership
            if change.moved:
                membership = {**membership, REBUILT: job["_id"]}
            writes.append(MembershipWrite(membership, [], None, change.seq))
        conflicted = await store.write_memberships(writes)
        for write in writes:
            if write.doc["_id"] not in conflicted and REBUILT in write.doc:
                moved[write.doc["_id"]] = write.doc
        ((plan, _),) = plans
        return plan, versions, {owners[mid] for mid in conflicted}

    async def _versions(self, plan_id: str, ids: Sequence[str]) -> Versions:
        """Per customer, the versions of what its decision reads: the plan (manual additions
        and removals change it), its team, the customer's record and segments."""
        store = self.service.store
        plan = await store.plans.find_one({"_id": plan_id}, {"version": 1, "team_id": 1})
        team = (
            await store.teams.find_one({"_id": plan["team_id"]}, {"version": 1})
            if plan is not None
            else None
        )
        shared = ((plan or {}).get("version"), (team or {}).get("version"))
        cursor = store.customers.find(
            {"_id": {"$in": list(ids)}}, {"customer_version": 1, "segments_revision": 1}
        )
        found = {
            d["_id"]: (d.get("customer_version"), d.get("segments_revision")) async for d in cursor
        }
        return {cid: (*shared, *found.get(cid, (None, None))) for cid in ids}

    async def finish(self, job: Mapping[str, Any]) -> None:
        await self.service.store.update(
            "plans", job["plan_id"], {}, {"list_built_at": datetime.now(UTC)}
        )
