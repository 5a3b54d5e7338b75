"""The segmentation service's collections and queries.

``customers`` holds one document per customer: the replica of the customer record (from customer
events), the profile values and the segment per segmentation, a ``revision`` that increases with
every change of profiles or segments (writers compare-and-set on it), and the outbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from servicekit.consumer_slot import ConsumerSlot, SlotWrite, without_slots
from servicekit.outbox import FIELD as OUTBOX
from servicekit.tombstones import COLLECTION as TOMBSTONES
from servicekit.tombstones import Tombstones

SEGMENTATIONS = "segmentations"
CUSTOMERS = "customers"
VERSIONS = "segmentation_versions"
RECOMPUTES = "recomputes"
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
        self.recomputes = db[RECOMPUTES]
        self.tombstones = Tombstones(db[TOMBSTONES])

    async def create_indexes(self) -> None:
        await self.recomputes.create_index([("state", ASCENDING)], name="state")

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

    async def stream_customers(
        self, after: str | None, batch: int, query: Mapping[str, Any] | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every customer (matching ``query``) after ``after`` in id order, in batches, from
        one cursor. A job over the whole collection by nature (``query`` is rules compiled, any
        field), so it reads it deliberately (``$natural``)."""
        clauses = [dict(query)] if query else []
        if after is not None:
            clauses.append({"_id": {"$gt": after}})
        found = {"$and": clauses} if clauses else {}
        cursor = self.customers.find(found, {OUTBOX: 0}, batch_size=batch, hint=NATURAL)
        cursor = cursor.sort("_id")
        docs: list[dict[str, Any]] = []
        async for doc in cursor:
            docs.append(doc)
            if len(docs) == batch:
                yield docs
                docs = []
        if docs:
            yield docs

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

    # --- recompute jobs

    async def insert_recompute(self, job: dict[str, Any]) -> None:
        await self.recomputes.insert_one(job)

    async def recompute(self, job_id: str) -> dict[str, Any] | None:
        return await self.recomputes.find_one({"_id": job_id})

    async def running_recomputes(self) -> list[dict[str, Any]]:
        return await self.recomputes.find({"state": "running"}).to_list(None)

    async def update_recompute(self, job_id: str, **fields: Any) -> dict[str, Any] | None:
        return await self.recomputes.find_one_and_update(
            {"_id": job_id},
            {"$set": {**fields, "updated_at": datetime.now(UTC)}},
            return_document=ReturnDocument.AFTER,
        )
