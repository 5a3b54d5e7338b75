"""The segmentation service's collections and queries.

``customers`` holds one document per customer: the replica of the customer record (from customer
events), the profile values and the segment per segmentation, a ``revision`` that increases with
every change of profiles or segments (writers compare-and-set on it), and the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from servicekit import batch_jobs
from servicekit.consumer_slot import ConsumerSlot, SlotWrite, without_slots
from servicekit.outbox import FIELD as OUTBOX
from servicekit.tombstones import COLLECTION as TOMBSTONES
from servicekit.tombstones import Tombstones

SEGMENTATIONS = "segmentations"
CUSTOMERS = "customers"
TEAMS, PLANS = "teams", "plans"  # replicas of the lists service's teams and plans (by events)
VERSIONS = "segmentation_versions"
# Stamp of the recompute job that last changed a customer's segments (see recompute.py)
RECOMPUTED = "recomputed"
# Where a rule's sources live in a customers document (profile: under the segmentation's code).
CUSTOMER_PATH, LOYALTY_PATH = "customer", "loyalty"
NATURAL = {"$natural": 1}  # a whole-collection read on purpose (allowed by the scan guard)


class CustomerWrite(NamedTuple):
    old: dict[str, Any]  # the document as read, {} for a new one
    new: dict[str, Any]  # the fields to set
    entries: list[dict[str, Any]]  # the events the change causes (outbox-shaped)
    slot: SlotWrite | None = None  # a consumer path's write: its slot takes the entries


def profile_path(code: str) -> str:
    return f"profiles.{code}"


class SegmentationStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.segmentations = db[SEGMENTATIONS]
        self.versions = db[VERSIONS]
        self.customers = db[CUSTOMERS]
        self.tombstones = Tombstones(db[TOMBSTONES])
        self.teams = db[TEAMS]
        self.plans = db[PLANS]

    async def create_indexes(self) -> None:
        await self.customers.create_index([(f"{RECOMPUTED}.job", ASCENDING)], name="recomputed")
        await self.plans.create_index([("segmentations", ASCENDING)], name="plan_segmentations")

    # --- teams and plans (replicas)

    async def upsert_versioned(
        self, collection: str, doc_id: str, version: int, fields: Mapping[str, Any]
    ) -> None:
        """Hold ``fields`` unless this version or a newer one is held already."""
        try:
            await getattr(self, collection).update_one(
                {"_id": doc_id, "$or": [{"version": {"$lt": version}}, {"version": None}]},
                {"$set": {**fields, "version": version}},
                upsert=True,
            )
        except DuplicateKeyError:
            pass  # we hold this version or a newer one already

    async def plans_assigning(self, code: str) -> list[dict[str, Any]]:
        return await self.plans.find({"segmentations": code}).to_list(None)

    async def territories(self, team_ids: Sequence[str]) -> dict[str, frozenset[str]]:
        cursor = self.teams.find({"_id": {"$in": list(team_ids)}}, {"bricks": 1})
        return {doc["_id"]: frozenset(doc.get("bricks", ())) async for doc in cursor}

    # --- segmentations

    async def segmentation(self, code: str) -> dict[str, Any] | None:
        return await self.segmentations.find_one({"_id": code}, {OUTBOX: 0})

    async def all_segmentations(self) -> list[dict[str, Any]]:
        return await self.segmentations.find({}, {OUTBOX: 0}).sort("_id").to_list(None)

    async def insert_segmentation(self, doc: dict[str, Any], entries: list[dict]) -> bool:
        try:
            await self.segmentations.insert_one({**doc, OUTBOX: entries})
        except DuplicateKeyError:
            return False
        await self.versions.insert_one({**doc, "_id": f"{doc['_id']}:{doc['version']}"})
        return True

    async def replace_segmentation(
        self, doc: dict[str, Any], expected_version: int, entries: list[dict]
    ) -> bool:
        result = await self.segmentations.update_one(
            {"_id": doc["_id"], "version": expected_version},
            {
                "$set": {k: v for k, v in doc.items() if k != "_id"},
                "$push": {OUTBOX: {"$each": entries}},
            },
        )
        if result.modified_count != 1:
            return False
        await self.versions.insert_one({**doc, "_id": f"{doc['_id']}:{doc['version']}"})
        return True

    async def segmentation_version(self, code: str, version: int) -> dict[str, Any] | None:
        return await self.versions.find_one({"_id": f"{code}:{version}"})

    # --- customers

    async def customer(self, customer_id: str) -> dict[str, Any] | None:
        return await self.customers.find_one({"_id": customer_id}, {OUTBOX: 0})

    async def customers_by_id(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        cursor = self.customers.find({"_id": {"$in": list(ids)}}, {OUTBOX: 0})
        return {doc["_id"]: doc async for doc in cursor}

    async def page_customers(
        self, query: Mapping[str, Any], after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """The next ``limit`` customers matching ``query`` after ``after`` in id order (a page
        per call: a batch job never holds one cursor over the whole collection)."""
        found = {"$and": [dict(query), batch_jobs.after(after)]}
        return await self.customers.find(found, {OUTBOX: 0}).sort("_id").limit(limit).to_list()

    async def write_recomputed(self, writes: Sequence[tuple[int, dict[str, Any]]]) -> set[str]:
        """(revision read, customer after the recompute) pairs in one bulk; each write happens
        only if the revision is still the one read. Returns the ids that raced another writer."""
        if not writes:
            return set()
        fields = ("segments", "revision", RECOMPUTED)
        ops = [
            UpdateOne(
                {"_id": new["_id"], "revision": revision},
                {"$set": {name: new[name] for name in fields}},
            )
            for revision, new in writes
        ]
        result = await self.customers.bulk_write(ops, ordered=False)
        if result.matched_count == len(ops):
            return set()
        # Ours landed where the stored revision and stamp are what we wrote (another writer
        # that won the race wrote the same revision without our stamp).
        wanted = {new["_id"]: (new["revision"], new[RECOMPUTED]) for _, new in writes}
        now = self.customers.find({"_id": {"$in": list(wanted)}}, {"revision": 1, RECOMPUTED: 1})
        landed = {
            doc["_id"]
            async for doc in now
            if (doc.get("revision"), doc.get(RECOMPUTED)) == wanted[doc["_id"]]
        }
        return set(wanted) - landed

    async def save_customers(
        self, changes: Sequence[CustomerWrite], slot: ConsumerSlot | None = None
    ) -> set[str]:
        """Write the changes; each happens only if the document's revision is still the one
        read. Events go to the outbox, or, for a consumer path's write (``slot``), to its slot,
        which the write replaces; nobody else's slot is touched. Returns the ids whose write did
        not happen (someone else changed them meanwhile)."""
        if not changes:
            return set()
        ops = []
        for old, new, entries, slot_write in changes:
            update: dict[str, Any] = {
                "$set": without_slots({k: v for k, v in new.items() if k != "_id"})
            }
            if slot is not None and slot_write is not None:
                update["$set"][slot.field] = slot.content(slot_write)
            elif entries:
                update["$push"] = {OUTBOX: {"$each": entries}}
            if old:
                ops.append(
                    UpdateOne({"_id": old["_id"], "revision": old.get("revision", 0)}, update)
                )
            else:
                ops.append(UpdateOne({"_id": new["_id"]}, update, upsert=True))
        result = await self.customers.bulk_write(ops, ordered=False)
        if result.modified_count + result.upserted_count == len(ops):
            return set()
        wanted = {new["_id"]: new.get("revision", 0) for _, new, _, _ in changes}
        now = await self.customers.find({"_id": {"$in": list(wanted)}}, {"revision": 1}).to_list(
            None
        )
        landed = {doc["_id"] for doc in now if doc.get("revision", 0) == wanted[doc["_id"]]}
        return set(wanted) - landed

    async def erase(self, customer_ids: Sequence[str]) -> None:
        """Tombstones first, then the data: a crash in between is finished by redelivery."""
        if not customer_ids:
            return
        await self.tombstones.add(customer_ids)
        await self.customers.delete_many({"_id": {"$in": list(customer_ids)}})

    async def erased(self, customer_ids: Sequence[str]) -> set[str]:
        return await self.tombstones.among(customer_ids)

    async def count(self, query: Mapping[str, Any]) -> int:
        """Customers matching segment rules compiled to a query: rules may name any field with
        any operator, so this reads the whole collection, deliberately (``$natural``)."""
        return await self.customers.count_documents(query, hint=NATURAL)
