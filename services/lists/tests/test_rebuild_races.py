"""A plan list's rebuild racing newer decisions, against the real database: a rebuild that read
a chunk before a manual removal or an event-driven change, and writes after it, must not undo
it. Each test holds the rebuild's first write until the other writer is done."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from lists.directory import Directory
from lists.handlers import ListsService
from lists.rebuild import PlanListRebuild
from lists.settings import ListsSettings
from lists.store import MEMBERSHIPS, PLANS, TEAMS, ListsStore, membership_id
from servicekit.auth import Identity
from servicekit.batch_jobs import COLLECTION, BatchJobRunner
from servicekit.consumer_slot import ConsumerSlot
from servicekit.messaging import OutgoingRecord
from servicekit.outbox import OutboxRelay

pytestmark = pytest.mark.servers
ADMIN = Identity("ana", "admin")
SEG = "SEG"


class Publisher:
    def __init__(self) -> None:
        self.published: list[OutgoingRecord] = []

    async def publish(self, records: list[OutgoingRecord]) -> None:
        self.published.extend(records)


class HeldRebuild:
    """The service, its rebuild job, and a gate that holds the first membership write after
    ``start_rebuild`` (the rebuild's) until the test lets it go."""

    def __init__(self, mongo_db) -> None:
        self.publisher = Publisher()
        settings = ListsSettings(env="dev")
        store = ListsStore(mongo_db)
        self.jobs = BatchJobRunner(mongo_db[COLLECTION], self.publisher)  # type: ignore[arg-type]
        self.service = ListsService(
            store,
            OutboxRelay(mongo_db[MEMBERSHIPS], self.publisher),  # type: ignore[arg-type]
            settings,
            ConsumerSlot("customer_and_segment_events", self.publisher),  # type: ignore[arg-type]
            self.jobs,
            Directory(
                settings,
                OutboxRelay(mongo_db[TEAMS], self.publisher),  # type: ignore[arg-type]
                OutboxRelay(mongo_db[PLANS], self.publisher),  # type: ignore[arg-type]
            ),
        )
        self.jobs.register(PlanListRebuild(self.service, chunk_size=100))
        self.reached, self.gate = asyncio.Event(), asyncio.Event()
        self.armed = False
        write = store.write_memberships

        async def held(writes: Sequence[Any], slot: Any = None) -> Any:
            if self.armed:
                self.armed = False
                self.reached.set()
                await self.gate.wait()
            return await write(writes, slot)

        store.write_memberships = held  # type: ignore[method-assign]

    @property
    def store(self) -> ListsStore:
        return self.service.store

    async def setup(self, customers: list[str], brick: str) -> tuple[str, str]:
        """A team without ``brick``, a draft plan targeting segment "in", and ``customers`` in
        that segment at ``brick``: nobody is in the list yet."""
        await self.store.create_indexes()
        await self.jobs.create_indexes()
        run = uuid.uuid4().hex[:8]
        team, plan = f"team-{run}", f"plan-{run}"
        await self.store.segmentations.update_one(
            {"_id": SEG}, {"$set": {"level": "customer", "version": 1}}, upsert=True
        )
        await self.store.teams.insert_one(
            {"_id": team, "name": "T", "bricks": ["ELSEWHERE"], "reps": [], "version": 1}
        )
        await self.store.plans.insert_one(
            {"_id": plan, "team_id": team, "period": "2026-Q4", "segmentations": [SEG],
             "targeted_segments": [{"segmentation": SEG, "segment": "in"}],
             "primary_address_only": False, "status": "draft", "version": 1}
        )  # fmt: skip
        await self.store.customers.insert_many(
            [
                {"_id": cid, "kind": "person", "status": "active", "name": cid,
                 "primary_bricks": [brick], "bricks": [brick], "suppressions": [], "traits": [],
                 "customer_version": 1, "segments": {SEG: {"segment": "in"}},
                 "segments_revision": 1}
                for cid in customers
            ]
        )  # fmt: skip
        return team, plan

    async def start_rebuild(self, team: str, brick: str, plan: str) -> str:
        """The team takes the customers' brick; the rebuild reads its chunk and is held."""
        await self.store.teams.update_one(
            {"_id": team}, {"$set": {"bricks": [brick]}, "$inc": {"version": 1}}
        )
        self.armed = True
        job = await self.service.rebuild(plan, f"team:{team}")
        await asyncio.wait_for(self.reached.wait(), 10)
        return job["_id"]

    async def finish(self, job_id: str) -> None:
        self.gate.set()
        await self.jobs.wait(job_id)
        stored = await self.jobs.get(job_id)
        assert stored is not None and stored["state"] == "done", stored

    async def member(self, plan: str, cid: str) -> bool:
        found = await self.store.memberships.find_one({"_id": membership_id(plan, cid)})
        return bool(found and found["member"])

    def last_event(self, plan: str, cid: str) -> bool | None:
        """The member flag of the last ListMembershipChanged published for the customer."""
        flags = [
            json.loads(r.value)["member"]
            for r in self.publisher.published
            if r.key == cid.encode() and json.loads(r.value).get("plan_id") == plan
        ]
        return flags[-1] if flags else None


async def test_a_rebuild_does_not_undo_a_manual_removal_made_while_it_ran(mongo_db) -> None:
    held = HeldRebuild(mongo_db)
    brick, ids = "B-REMOVE", [f"rm-{i}" for i in range(5)]
    team, plan = await held.setup(ids, brick)
    job = await held.start_rebuild(team, brick, plan)
    await held.service.add_or_remove(plan, ids[0], add=False, identity=ADMIN)
    await held.finish(job)
    assert not await held.member(plan, ids[0]), "the manual removal stays"
    assert held.last_event(plan, ids[0]) in (False, None), "no event says it is in"
    for cid in ids[1:]:
        assert await held.member(plan, cid) and held.last_event(plan, cid) is True


async def test_a_rebuild_does_not_undo_a_manual_addition_made_while_it_ran(mongo_db) -> None:
    held = HeldRebuild(mongo_db)
    brick, ids = "B-ADD", [f"ad-{i}" for i in range(5)]
    team, plan = await held.setup(ids, brick)
    await held.store.customers.update_one(  # out of the targeted segment: only by hand
        {"_id": ids[0]}, {"$set": {f"segments.{SEG}.segment": "out", "segments_revision": 2}}
    )
    job = await held.start_rebuild(team, brick, plan)
    await held.service.add_or_remove(plan, ids[0], add=True, identity=ADMIN)
    await held.finish(job)
    assert await held.member(plan, ids[0]), "the manual addition stays"
    assert held.last_event(plan, ids[0]) is True


async def test_a_rebuild_does_not_undo_a_segment_change_that_came_while_it_ran(mongo_db) -> None:
    held = HeldRebuild(mongo_db)
    brick, ids = "B-EVENT", [f"ev-{i}" for i in range(5)]
    team, plan = await held.setup(ids, brick)
    job = await held.start_rebuild(team, brick, plan)
    # what the consumer does with a SegmentsAssigned: the replica, then the customer's lists
    await held.store.customers.update_one(
        {"_id": ids[1]}, {"$set": {f"segments.{SEG}.segment": "out", "segments_revision": 2}}
    )
    await held.service.reconcile([ids[1]], {ids[1]: ("segmentation", None)})
    await held.finish(job)
    assert not await held.member(plan, ids[1]), "the newer segment decides"
    assert held.last_event(plan, ids[1]) in (False, None)
    for cid in [ids[0], *ids[2:]]:
        assert await held.member(plan, cid)


async def test_a_change_to_a_member_while_a_rebuild_ran_is_kept(mongo_db) -> None:
    """The memberships exist already and the rebuild rewrites them (what they show changed):
    the manual removal's write changes one meanwhile, and the rebuild's write of it, from what
    it read before, must not put the customer back."""
    held = HeldRebuild(mongo_db)
    brick, ids = "B-MEMBER", [f"mb-{i}" for i in range(3)]
    team, plan = await held.setup(ids, brick)
    await held.store.teams.update_one({"_id": team}, {"$set": {"bricks": [brick]}})
    await held.service.reconcile(ids, {cid: ("test", None) for cid in ids})  # all in
    assert all([await held.member(plan, cid) for cid in ids])
    await held.store.customers.update_many({"_id": {"$in": ids}}, {"$set": {"name": "Renamed"}})
    job = await held.start_rebuild(team, brick, plan)
    await held.service.add_or_remove(plan, ids[2], add=False, identity=ADMIN)
    await held.finish(job)
    assert [await held.member(plan, cid) for cid in ids] == [True, True, False]
