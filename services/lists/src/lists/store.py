"""The lists service's collections and queries.

``customers`` and ``segmentations`` are replicas fed by events; ``memberships`` holds one
document per (plan, customer) that was ever in the plan's list, with the decision, a summary for
listing and filtering, and the outbox of its membership events; ``snapshots`` freezes a list at
plan submission.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError
from servicekit import batch_jobs, consumer_slot
from servicekit.consumer_slot import ConsumerSlot, SlotWrite, without_slots
from servicekit.outbox import FIELD as OUTBOX
from servicekit.tombstones import COLLECTION as TOMBSTONES
from servicekit.tombstones import Tombstones

TEAMS, PLANS, CUSTOMERS, SEGMENTATIONS = "teams", "plans", "customers", "segmentations"
MEMBERSHIPS, SNAPSHOTS = "memberships", "snapshots"
REBUILT = "rebuilt_by"  # the rebuild job that last moved a membership (see rebuild.py)
SEQ = "seq"  # a membership's write sequence: each write is conditional on the one it read
STATIC_LISTS, LIST_ENTRIES = "static_lists", "list_entries"


NATURAL = {"$natural": 1}  # a whole-collection read on purpose (allowed by the scan guard)
HIDDEN = {
    OUTBOX: 0,
    consumer_slot.FIELD: 0,
    REBUILT: 0,
    SEQ: 0,
}  # what a read for the API leaves out


class MembershipWrite(NamedTuple):
    doc: dict[str, Any]  # the membership as decided
    entries: list[dict[str, Any]]  # the events it causes (outbox-shaped)
    slot: SlotWrite | None = None  # the consumer path's write: its slot takes the entries
    seq: int | None = None  # the membership's sequence as read before deciding (None: absent)


def membership_id(plan_id: str, customer_id: str) -> str:
    return f"{plan_id}|{customer_id}"


class ListsStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.teams = db[TEAMS]
        self.plans = db[PLANS]
        self.customers = db[CUSTOMERS]
        self.segmentations = db[SEGMENTATIONS]
        self.memberships = db[MEMBERSHIPS]
        self.snapshots = db[SNAPSHOTS]
        self.tombstones = Tombstones(db[TOMBSTONES])
        self.static_entries = db[LIST_ENTRIES]  # static lists' entries (StaticListStore)

    async def create_indexes(self) -> None:
        await self.memberships.create_index(
            [("plan_id", ASCENDING), ("member", ASCENDING), ("customer_id", ASCENDING)],
            name="plan_members",
        )
        # a customer's lists (the 360, explain) and an erasure
        await self.memberships.create_index(
            [("customer_id", ASCENDING), ("member", ASCENDING), ("plan_id", ASCENDING)],
            name="customer_memberships",
        )
        await self.snapshots.create_index(
            [("plan_id", ASCENDING), ("customer_id", ASCENDING)], name="plan_snapshot"
        )
        await self.snapshots.create_index([("customer_id", ASCENDING)], name="customer_snapshots")
        await self.plans.create_index([("team_id", ASCENDING)], name="team_plans")
        await self.customers.create_index([("mdm_code", ASCENDING)], name="mdm_code")

    # --- teams and plans

    async def insert(
        self, collection: str, doc: dict[str, Any], entries: Sequence[dict[str, Any]] = ()
    ) -> bool:
        """Insert ``doc`` (with ``entries`` in its outbox) unless its id is taken."""
        try:
            await getattr(self, collection).insert_one(
                {**doc, **({OUTBOX: list(entries)} if entries else {})}
            )
        except DuplicateKeyError:
            return False
        return True

    async def get(self, collection: str, doc_id: str) -> dict[str, Any] | None:
        return await getattr(self, collection).find_one({"_id": doc_id}, HIDDEN)

    async def find(self, collection: str, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        return await getattr(self, collection).find(dict(query), HIDDEN).sort("_id").to_list(None)

    async def update(
        self,
        collection: str,
        doc_id: str,
        expected: Mapping[str, Any],
        fields: Mapping[str, Any],
        entries: Sequence[dict[str, Any]] = (),
    ) -> bool:
        """Set ``fields`` if the document still matches ``expected``; ``entries`` (the events
        the change causes) go to its outbox in the same write."""
        change: dict[str, Any] = {"$set": dict(fields)}
        if entries:
            change["$push"] = {OUTBOX: {"$each": list(entries)}}
        result = await getattr(self, collection).update_one({"_id": doc_id, **expected}, change)
        return result.matched_count == 1

    async def add_to_set(self, plan_id: str, field: str, value: str, remove_from: str) -> bool:
        """Record a manual addition or removal on a draft plan."""
        result = await self.plans.update_one(
            {"_id": plan_id, "status": "draft"},
            {"$addToSet": {field: value}, "$pull": {remove_from: value}, "$inc": {"version": 1}},
        )
        return result.matched_count == 1

    # --- replicas

    async def customers_by_id(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        cursor = self.customers.find({"_id": {"$in": list(ids)}})
        return {doc["_id"]: doc async for doc in cursor}

    async def customer_by_mdm_code(self, mdm_code: str) -> dict[str, Any] | None:
        docs = await self.customers.find({"mdm_code": mdm_code}).to_list(None)
        # A merged-away record keeps its code; the live one wins.
        docs.sort(key=lambda d: (d.get("status") != "active", d["_id"]))
        return docs[0] if docs else None

    async def page_customers(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        """The next ``limit`` known customers after ``after`` in id order (a page per call: a
        batch job never holds one cursor over the whole collection)."""
        return await self.customers.find(batch_jobs.after(after)).sort("_id").limit(limit).to_list()

    async def write_customers(
        self, updates: Sequence[tuple[dict[str, Any], dict[str, Any]]]
    ) -> None:
        """(filter, fields) pairs: each sets fields where the filter (id and a staleness guard)
        matches, creating the document when it does not exist yet."""
        if not updates:
            return
        ops = [UpdateOne(dict(f), {"$set": dict(s)}, upsert=True) for f, s in updates]
        try:
            await self.customers.bulk_write(ops, ordered=False)
        except Exception as exc:  # a stale guard on an existing id makes the upsert collide
            if not _only_duplicate_keys(exc):
                raise

    async def upsert_segmentation(self, code: str, version: int, fields: dict[str, Any]) -> None:
        try:
            await self.segmentations.update_one(
                {"_id": code, "version": {"$lt": version}},
                {"$set": {**fields, "version": version}},
                upsert=True,
            )
        except DuplicateKeyError:
            pass  # we hold this version or a newer one already

    async def levels(self) -> dict[str, str]:
        return {d["_id"]: d["level"] async for d in self.segmentations.find({}, {"level": 1})}

    async def erase(self, customer_ids: Sequence[str]) -> None:
        """Tombstones first, then the data: a crash in between is finished by redelivery."""
        if not customer_ids:
            return
        ids = list(customer_ids)
        await self.tombstones.add(ids)
        await self.customers.delete_many({"_id": {"$in": ids}})
        await self.memberships.delete_many({"customer_id": {"$in": ids}})
        await self.snapshots.delete_many({"customer_id": {"$in": ids}})
        await self.static_entries.delete_many({"customer_id": {"$in": ids}})

    async def erased(self, customer_ids: Sequence[str]) -> set[str]:
        return await self.tombstones.among(customer_ids)

    # --- memberships

    async def memberships_by_id(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        cursor = self.memberships.find({"_id": {"$in": list(ids)}}, {OUTBOX: 0})  # with stamp
        return {doc["_id"]: doc async for doc in cursor}

    async def memberships_of(self, customer_id: str) -> list[dict[str, Any]]:
        """The plans' lists the customer is in now."""
        query = {"customer_id": customer_id, "member": True}
        return await self.memberships.find(query, HIDDEN).sort("plan_id").to_list(None)

    async def write_memberships(
        self, writes: Sequence[MembershipWrite], slot: ConsumerSlot | None = None
    ) -> set[str]:
        """Upsert memberships, each only if it is still as it was read (its ``seq``): a write
        decided from what another writer has changed since loses, and its id is returned (the
        caller decides it again from a fresh read). Their events go to the outbox, or, for the
        consumer path's writes (``slot``), to its slot, which the write replaces. Nobody else's
        slot is touched."""
        if not writes:
            return set()
        ops = []
        for doc, entries, slot_write, seq in writes:
            fields = without_slots({k: v for k, v in doc.items() if k not in ("_id", SEQ)})
            update: dict[str, Any] = {"$set": {**fields, SEQ: (seq or 0) + 1}}
            if slot is not None and slot_write is not None:
                update["$set"][slot.field] = slot.content(slot_write)
            elif entries:
                update["$push"] = {OUTBOX: {"$each": entries}}
            # a membership written since has another seq: the upsert then collides on _id
            read_as = {SEQ: seq} if seq is not None else {SEQ: {"$exists": False}}
            ops.append(UpdateOne({"_id": doc["_id"], **read_as}, update, upsert=True))
        try:
            await self.memberships.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            if not _only_duplicate_keys(exc):
                raise
            return {writes[e["index"]].doc["_id"] for e in exc.details["writeErrors"]}
        return set()

    async def members(
        self,
        plan_id: str,
        filters: Mapping[str, Any],
        after: str | None,
        limit: int,
        collection: str = MEMBERSHIPS,
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"plan_id": plan_id, **filters}
        if collection == MEMBERSHIPS:
            query["member"] = True
        if after is not None:
            query["customer_id"] = {"$gt": after}
        return (
            await getattr(self, collection)
            .find(query, HIDDEN)
            .sort("customer_id")
            .limit(limit)
            .to_list()
        )

    async def snapshot(self, plan_id: str, rows: list[dict[str, Any]]) -> None:
        await self.snapshots.delete_many({"plan_id": plan_id})
        for start in range(0, len(rows), 1000):
            await self.snapshots.insert_many(rows[start : start + 1000], ordered=False)


def _only_duplicate_keys(exc: Exception) -> bool:
    details = getattr(exc, "details", None) or {}
    errors = details.get("writeErrors", [])
    return bool(errors) and all(e.get("code") == 11000 for e in errors)


# The name casefolded, beside it: a name lookup regardless of case is an exact match from an
# index, where a case-insensitive regex would read every list.
NAME_KEY = "name_key"


def _with_name_key(fields: Mapping[str, Any]) -> dict[str, Any]:
    if not fields.get("name"):
        return dict(fields)
    return {**fields, NAME_KEY: fields["name"].strip().casefold()}


def entry_id(list_id: str, customer_id: str) -> str:
    return f"{list_id}|{customer_id}"


class StaticListStore:
    """Static lists and groups, and their entries (one document per list and customer)."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.lists = db[STATIC_LISTS]
        self.entries = db[LIST_ENTRIES]

    async def create_indexes(self) -> None:
        await self.entries.create_index(
            [("list_id", ASCENDING), ("customer_id", ASCENDING)], name="list_customers"
        )
        await self.entries.create_index([("customer_id", ASCENDING)], name="customer_lists")
        await self.lists.create_index([(NAME_KEY, ASCENDING)], name="name_key")
        await self.lists.create_index([("owners.teams", ASCENDING)], name="owner_teams")
        await self.lists.create_index([("kind", ASCENDING), ("name", ASCENDING)], name="kind_name")
        # Lists stored before the name key existed get it (once; a read of every list, which
        # are few, on purpose).
        older = self.lists.find({NAME_KEY: {"$exists": False}}, {"name": 1}, hint=NATURAL)
        async for doc in older:
            if doc.get("name"):
                await self.lists.update_one(
                    {"_id": doc["_id"]}, {"$set": self.name_query(doc["name"])}
                )

    async def insert(self, doc: dict[str, Any]) -> None:
        await self.lists.insert_one(_with_name_key(doc))

    async def get(self, list_id: str) -> dict[str, Any] | None:
        return await self.lists.find_one({"_id": list_id}, {NAME_KEY: 0})

    async def find(self, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Lists matching ``query`` (``name_query`` for a name), by name."""
        return await self.lists.find(dict(query), {NAME_KEY: 0}).sort("name").to_list(None)

    @staticmethod
    def name_query(name: str) -> dict[str, Any]:
        """The lists with this name, regardless of case."""
        return {NAME_KEY: name.strip().casefold()}

    async def update(self, list_id: str, version: int, fields: Mapping[str, Any]) -> bool:
        result = await self.lists.update_one(
            {"_id": list_id, "version": version},
            {"$set": {**_with_name_key(fields), "version": version + 1}},
        )
        return result.matched_count == 1

    async def delete(self, list_id: str) -> None:
        await self.entries.delete_many({"list_id": list_id})
        await self.lists.delete_one({"_id": list_id})

    async def add(self, list_id: str, customer_ids: Sequence[str], fields: dict[str, Any]) -> int:
        """Add customers (those on the list already stay as they were); returns how many are
        new."""
        if not customer_ids:
            return 0
        ops = [
            UpdateOne(
                {"_id": entry_id(list_id, cid)},
                {"$setOnInsert": {"list_id": list_id, "customer_id": cid, **fields}},
                upsert=True,
            )
            for cid in customer_ids
        ]
        result = await self.entries.bulk_write(ops, ordered=False)
        return result.upserted_count

    async def remove(self, list_id: str, customer_id: str) -> bool:
        result = await self.entries.delete_one({"_id": entry_id(list_id, customer_id)})
        return result.deleted_count == 1

    async def page(self, list_id: str, after: str | None, limit: int) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"list_id": list_id}
        if after is not None:
            query["customer_id"] = {"$gt": after}
        return await self.entries.find(query).sort("customer_id").limit(limit).to_list()

    async def all_customer_ids(self, list_id: str) -> list[str]:
        cursor = self.entries.find({"list_id": list_id}, {"customer_id": 1})
        return sorted({doc["customer_id"] async for doc in cursor})

    async def lists_of(self, customer_id: str) -> list[str]:
        cursor = self.entries.find({"customer_id": customer_id}, {"list_id": 1})
        return sorted({doc["list_id"] async for doc in cursor})

    async def forget(self, customer_ids: Sequence[str]) -> None:
        """An erased customer leaves every list."""
        if customer_ids:
            await self.entries.delete_many({"customer_id": {"$in": list(customer_ids)}})
