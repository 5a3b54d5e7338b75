"""The customer service's collections and the queries it runs on them, nothing else."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from bson import Binary
from pymongo import ASCENDING, DESCENDING, InsertOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError
from servicekit import consumer_slot
from servicekit.consumer_slot import ConsumerSlot, SlotWrite, without_slots
from servicekit.database import DUPLICATE_KEY
from servicekit.outbox import FIELD as OUTBOX

from customer import search

CUSTOMERS = "customers"
ERASURES = "erasures"  # tombstones of erased customers (id, MDM code, when): no personal data
HISTORY = "history"  # one document per change event: who changed which fields from what to what
IMPORTED = "imported"  # the import job, chunk and rows that last wrote a record (imports.py)
# what a record read leaves out
HIDDEN = {OUTBOX: 0, search.FIELD: 0, consumer_slot.FIELD: 0, IMPORTED: 0}
WITH_SLOTS = {OUTBOX: 0, search.FIELD: 0, IMPORTED: 0}  # a consumer path's read: it needs its slot
# An erased customer's record is replaced by a tombstone holding only its id, version, MDM code
# and this: the id and the unique MDM code then stop any write computed before the erasure (a
# conditional upsert, a create by MDM code) from bringing the record back.
ERASED_AT = "erased_at"
LIVE = {ERASED_AT: {"$exists": False}}  # what a search adds: tombstones are nobody's customer


def is_tombstone(doc: dict[str, Any] | None) -> bool:
    return doc is not None and ERASED_AT in doc


class RecordWrite(NamedTuple):
    record: dict[str, Any]  # the record after the change
    previous_version: int | None  # the version it was computed from; None if new
    entries: list[dict[str, Any]]  # the events it causes (outbox-shaped)
    removed: Iterable[str]  # fields the change removed
    slot: SlotWrite | None = None  # a consumer path's write: its slot takes the entries


class DuplicateMdmCode(Exception):
    pass


class CustomerStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.customers = db[CUSTOMERS]
        self.erasures = db[ERASURES]
        self.history = db[HISTORY]

    async def create_indexes(self) -> None:
        await self.customers.create_index(
            [("mdm_code", ASCENDING)], unique=True, sparse=True, name="mdm_code_unique"
        )  # sparse, so it cannot give every record in MDM code order: mdm_code_id below does
        # One index per search key a criterion matches by prefix on its own (with the id for
        # keyset paging); the sort keys among them also serve unfiltered pages in sort order.
        # Criteria that select large shares (kind, status, gender, salutation, state, country...)
        # have none: they narrow a search that another criterion or the sort's index drives.
        for key in search.INDEXED_KEYS:
            await self.customers.create_index(
                [(f"{search.FIELD}.{key}", ASCENDING), ("_id", ASCENDING)], name=f"search_{key}"
            )
        for path in ("created_at", "updated_at", "date_of_birth", "mdm_code", "account_id"):
            await self.customers.create_index(
                [(path, ASCENDING), ("_id", ASCENDING)], name=f"{path}_id"
            )
        await self.customers.create_index([("addresses.brick", ASCENDING)], name="brick")
        await self.customers.create_index(
            [(f"{search.FIELD}.postal_codes", ASCENDING), (f"{search.FIELD}.last_name", ASCENDING)],
            name="import_name_postcode",
        )
        await self.erasures.create_index([("mdm_code", ASCENDING)], name="mdm_code")
        await self.history.create_index(
            [("customer_id", ASCENDING), ("version", DESCENDING)], name="customer_version"
        )

    async def get(self, customer_id: str) -> dict[str, Any] | None:
        """The live record (None if absent or erased)."""
        doc = await self.customers.find_one({"_id": customer_id}, HIDDEN)
        return None if is_tombstone(doc) else doc

    async def by_mdm_codes(
        self, codes: Iterable[str], with_slots: bool = False
    ) -> dict[str, dict[str, Any]]:
        """Records by MDM code (one query, by the unique index), with the consumer paths' slots
        if asked. Erased customers' tombstones are among them (``is_tombstone``)."""
        docs = self.customers.find(
            {"mdm_code": {"$in": list(codes)}}, WITH_SLOTS if with_slots else HIDDEN
        )
        return {doc["mdm_code"]: doc async for doc in docs}

    async def insert(self, record: dict[str, Any], outbox: list[dict[str, Any]]) -> None:
        try:
            await self.customers.insert_one(
                {**record, search.FIELD: search.search_keys(record), OUTBOX: outbox}
            )
        except DuplicateKeyError as exc:
            raise DuplicateMdmCode(record.get("mdm_code")) from exc

    async def write_changes(
        self, changes: Sequence[RecordWrite], slot: ConsumerSlot | None = None
    ) -> set[int]:
        """Write the changes as one bulk: new records inserted, changed ones as conditional upserts.

        Each write applies only if the stored version is still the one the change was computed
        from (or the record is still absent). A record erased meanwhile is a tombstone under the
        same id (and MDM code), so the insert (or the upsert's insert) fails as a lost race
        instead of writing the record back. Its events go to the record's outbox, or, for a
        consumer path's write (``slot`` and the write's ``slot``), to that path's slot, which
        the write replaces. No write sets or unsets another path's slot. Returns the indexes of
        the writes that lost the race (a duplicate key): the caller recomputes those.
        """
        ops: list[InsertOne[dict[str, Any]] | UpdateOne] = []
        for record, previous, entries, removed, slot_write in changes:
            fields = without_slots({k: v for k, v in record.items() if k != "_id"})
            fields[search.FIELD] = search.search_keys(record)
            if previous is None:
                # A new record is inserted (cheaper than an upsert that finds nothing); one
                # created or erased meanwhile holds its id or MDM code: a duplicate key, as for
                # a conditional upsert.
                document = {"_id": record["_id"], **fields}
                if slot is not None and slot_write is not None:
                    document[consumer_slot.FIELD] = {slot.path: slot.content(slot_write)}
                elif entries:
                    document[OUTBOX] = list(entries)
                ops.append(InsertOne(document))
                continue
            update: dict[str, Any] = {"$set": fields}
            if unset := without_slots(dict.fromkeys(removed, "")):
                update["$unset"] = unset
            if slot is not None and slot_write is not None:
                fields[slot.field] = slot.content(slot_write)
            elif entries:
                update["$push"] = {OUTBOX: {"$each": entries}}
            # upsert: a record changed or erased meanwhile no longer matches, and the insert
            # this makes instead fails on its id: a lost race, not a silent no-op
            ops.append(UpdateOne({"_id": record["_id"], "version": previous}, update, upsert=True))
        if not ops:
            return set()
        try:
            await self.customers.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            return {e["index"] for e in errors}
        return set()

    async def import_candidates(
        self,
        mdm_codes: list[str],
        emails: list[str],
        phones: list[str],
        names: list[tuple[str, str, str]],
    ) -> list[dict[str, Any]]:
        """Customers an import chunk's rows may be (one query per chunk, each branch on an
        index): by MDM code, email, phone, or last name and postcode ((last, first, postcode)
        keys; the caller matches the first name), with their search keys and import stamp."""
        branches: list[dict[str, Any]] = [
            {path: {"$in": values}}
            for path, values in (
                ("mdm_code", mdm_codes),
                (f"{search.FIELD}.email", emails),
                (f"{search.FIELD}.phones", phones),
            )
            if values
        ]
        # one branch per (postcode, last name) pair: two $in lists would select their cross
        # product, every customer with any of the chunk's postcodes and any of its names, a
        # share that grows with the data (the import slowed fivefold over 100,000 rows)
        branches += [
            {f"{search.FIELD}.postal_codes": postcode, f"{search.FIELD}.last_name": last}
            for last, postcode in sorted({(n[0], n[2]) for n in names})
        ]
        if not branches:
            return []
        found = self.customers.find({"$or": branches}, {OUTBOX: 0, consumer_slot.FIELD: 0})
        return [doc async for doc in found if not is_tombstone(doc)]

    async def write_imported(
        self,
        new: Sequence[dict[str, Any]],
        changed: Sequence[tuple[dict[str, Any], int, Iterable[str]]],
    ) -> set[str]:
        """An import chunk's writes: new records in one insert, changed ones (record after, the
        version it was computed from, fields it removed) in one bulk, each only if the record is
        still at that version. Each record carries its search keys (the chunk computed them
        once, as it matched rows against them). Returns the ids that did not land (an MDM code
        taken meanwhile, a record changed meanwhile)."""
        failed: set[str] = set()
        if new:
            docs = list(new)
            try:
                await self.customers.insert_many(docs, ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if any(e.get("code") != DUPLICATE_KEY for e in errors):
                    raise
                failed |= {docs[e["index"]]["_id"] for e in errors}
        if changed:
            ops = []
            for record, previous, removed in changed:
                fields = without_slots({k: v for k, v in record.items() if k != "_id"})
                update: dict[str, Any] = {"$set": fields}
                if removed:
                    update["$unset"] = dict.fromkeys(removed, "")
                ops.append(UpdateOne({"_id": record["_id"], "version": previous}, update))
            result = await self.customers.bulk_write(ops, ordered=False)
            if result.matched_count < len(ops):
                wanted = {r["_id"]: (r["version"], r[IMPORTED]) for r, _, _ in changed}
                cursor = self.customers.find(
                    {"_id": {"$in": list(wanted)}}, {"version": 1, IMPORTED: 1}
                )
                landed = {
                    doc["_id"]
                    async for doc in cursor
                    if (doc.get("version"), doc.get(IMPORTED)) == wanted[doc["_id"]]
                }
                failed |= set(wanted) - landed
        return failed

    async def search(
        self, query: dict[str, Any], sort: list[tuple[str, int]], limit: int
    ) -> list[dict[str, Any]]:
        """Matching records with their search keys (the caller needs the sort value)."""
        clauses = query["$and"] if list(query) == ["$and"] else [query] if query else []
        query = {"$and": [*clauses, LIVE]}
        cursor = self.customers.find(query, {OUTBOX: 0, consumer_slot.FIELD: 0})
        return await cursor.sort(sort).limit(limit).to_list()

    async def erase(self, record: dict[str, Any], tombstone: dict[str, Any]) -> None:
        """Leave the tombstone (with its outbox entry) first, then replace the record by its own
        tombstone: a crash in between leaves a tombstone whose event the sweep publishes, and a
        retried erase finishes the job. Never the reverse (a record gone and nobody told). The
        replacement wins over any change that raced it: the erasure is the user's last word."""
        await self.erasures.update_one(
            {"_id": tombstone["_id"]},
            {"$setOnInsert": {k: v for k, v in tombstone.items() if k != "_id"}},
            upsert=True,
        )
        remains = {"version": record["version"] + 1, ERASED_AT: tombstone["erased_at"]}
        if record.get("mdm_code"):
            remains["mdm_code"] = record["mdm_code"]
        await self.customers.replace_one({"_id": record["_id"]}, remains)

    async def erased(
        self, customer_ids: Iterable[str] = (), mdm_codes: Iterable[str] = ()
    ) -> set[str]:
        """Which of these customer ids and MDM codes belong to erased customers."""
        ids, codes = list(customer_ids), list(mdm_codes)
        found: set[str] = set()
        if ids:
            found |= {d["_id"] async for d in self.erasures.find({"_id": {"$in": ids}}, {"_id": 1})}
        if codes:
            cursor = self.erasures.find({"mdm_code": {"$in": codes}}, {"mdm_code": 1})
            found |= {d["mdm_code"] async for d in cursor}
        return found

    async def record_history(self, entries: Sequence[dict[str, Any]]) -> None:
        """Insert change entries keyed by event id: a redelivered event adds nothing (its
        duplicate key error is the expected answer; inserts are cheaper than upserts)."""
        if not entries:
            return
        try:
            await self.history.insert_many(entries, ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                raise

    async def forget_history(self, customer_ids: Iterable[str]) -> None:
        await self.history.delete_many({"customer_id": {"$in": list(customer_ids)}})

    async def history_of(
        self, customer_id: str, limit: int, before_version: int | None
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"customer_id": customer_id}
        if before_version is not None:
            query["version"] = {"$lt": before_version}
        cursor = self.history.find(query).sort([("version", DESCENDING), ("_id", ASCENDING)])
        return await cursor.limit(limit).to_list()


INTERACTIONS = "interactions"
BLOBS = "attachment_blobs"
COUNTERS = "counters"
TRAITS = "trait_names"
# The activity casefolded, beside it: matched exactly from an index, where a case-insensitive
# regex would read every interaction.
ACTIVITY_KEY = "activity_key"


def _with_activity_key(fields: dict[str, Any]) -> dict[str, Any]:
    if not fields.get("activity"):
        return fields
    return {**fields, ACTIVITY_KEY: fields["activity"].casefold()}


class InteractionStore:
    """Notes, cases, fulfilments, responses and attachments; the trait catalogue."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.interactions = db[INTERACTIONS]
        self.blobs = db[BLOBS]
        self.counters = db[COUNTERS]
        self.traits = db[TRAITS]

    async def create_indexes(self) -> None:
        await self.interactions.create_index(
            [("customer_id", ASCENDING), ("at", DESCENDING)], name="customer_timeline"
        )
        await self.interactions.create_index(
            [("kind", ASCENDING), (ACTIVITY_KEY, ASCENDING), ("customer_id", ASCENDING)],
            name="kind_activity",
        )

    async def insert(self, doc: dict[str, Any]) -> None:
        await self.interactions.insert_one(_with_activity_key(doc))

    async def get(self, customer_id: str, kind: str, item_id: str) -> dict[str, Any] | None:
        return await self.interactions.find_one(
            {"_id": item_id, "customer_id": customer_id, "kind": kind}
        )

    async def update(self, doc: dict[str, Any], fields: dict[str, Any], removed: set[str]) -> bool:
        """Apply if the document is still at the version read; False if it moved on."""
        update: dict[str, Any] = {"$set": _with_activity_key(fields)}
        if removed:
            update["$unset"] = dict.fromkeys(removed, "")
            if "activity" in removed:
                update["$unset"][ACTIVITY_KEY] = ""
        result = await self.interactions.update_one(
            {"_id": doc["_id"], "version": doc["version"]}, update
        )
        return result.matched_count == 1

    async def delete(self, customer_id: str, kind: str, item_id: str) -> bool:
        result = await self.interactions.delete_one(
            {"_id": item_id, "customer_id": customer_id, "kind": kind}
        )
        if result.deleted_count:
            await self.blobs.delete_one({"_id": item_id})
        return result.deleted_count == 1

    async def list(
        self,
        customer_id: str,
        kind: str | None,
        limit: int,
        before: datetime | None,
        before_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """A customer's interactions, newest first (ties by id). A page goes on after the last
        item's (``before``, ``before_id``): older items, and those at the same time with a
        greater id. ``before`` alone: only older items."""
        query: dict[str, Any] = {"customer_id": customer_id}
        if kind:
            query["kind"] = kind
        if before and before_id is not None:
            query = {
                "$or": [
                    {**query, "at": {"$lt": before}},
                    {**query, "at": before, "_id": {"$gt": before_id}},
                ]
            }
        elif before:
            query["at"] = {"$lt": before}
        cursor = self.interactions.find(query).sort([("at", DESCENDING), ("_id", ASCENDING)])
        return await cursor.limit(limit).to_list()

    async def customers_with_activity(
        self, kind: str, activity: str, cap: int
    ) -> builtins.list[str]:
        """Ids of the customers with an interaction of ``kind`` of this ``activity`` (regardless
        of case), sorted; at most ``cap`` + 1 so a caller can tell there are more."""
        cursor = self.interactions.find(
            {"kind": kind, ACTIVITY_KEY: activity.casefold()}, {"customer_id": 1}
        )
        found: set[str] = set()
        async for doc in cursor:
            found.add(doc["customer_id"])
            if len(found) > cap:
                break
        return sorted(found)

    async def insert_attachment(self, doc: dict[str, Any], data: bytes) -> None:
        """Bytes first, then the entry that points at them: never an entry without content."""
        await self.blobs.insert_one({"_id": doc["_id"], "data": Binary(data)})
        await self.interactions.insert_one(doc)

    async def blob(self, item_id: str) -> bytes | None:
        found = await self.blobs.find_one({"_id": item_id})
        return bytes(found["data"]) if found else None

    async def next_number(self, name: str) -> int:
        counter = await self.counters.find_one_and_update(
            {"_id": name}, {"$inc": {"next": 1}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert counter is not None  # upserted
        return int(counter["next"])

    async def move(self, from_customer: str, to_customer: str) -> None:
        """A merge: every interaction of one customer now belongs to another."""
        await self.interactions.update_many(
            {"customer_id": from_customer}, {"$set": {"customer_id": to_customer}}
        )

    async def forget(self, customer_id: str) -> None:
        """Erasure: every interaction and attachment of the customer."""
        ids = [
            d["_id"] async for d in self.interactions.find({"customer_id": customer_id}, {"_id": 1})
        ]
        if ids:
            await self.blobs.delete_many({"_id": {"$in": ids}})
        await self.interactions.delete_many({"customer_id": customer_id})

    async def trait_catalogue(self) -> builtins.list[dict[str, Any]]:
        return await self.traits.find().sort("_id").to_list()

    async def add_trait(self, name: str, description: str | None) -> bool:
        try:
            await self.traits.insert_one({"_id": name, "description": description})
        except DuplicateKeyError:
            return False
        return True

    async def known_traits(self, names: Iterable[str]) -> set[str]:
        cursor = self.traits.find({"_id": {"$in": list(names)}}, {"_id": 1})
        return {d["_id"] async for d in cursor}


IMPORT_FILES = "import_files"


# characters of an import file per document: a file of 100,000 rows and more is larger than
# one document may be (16 MB), so it is kept in parts, `<job id>:<part>`
IMPORT_FILE_PART = 4 * 1024 * 1024


class ImportStore:
    """The files of running imports (kept until the import is done, so a resumed import can
    read on), in parts; the jobs themselves are batch jobs."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.files = db[IMPORT_FILES]

    async def save(self, job_id: str, text: str) -> None:
        parts = [text[i : i + IMPORT_FILE_PART] for i in range(0, len(text), IMPORT_FILE_PART)]
        await self.files.insert_many(
            [{"_id": f"{job_id}:{n:06d}", "text": part} for n, part in enumerate(parts or [""])]
        )

    async def text(self, job_id: str) -> str:
        cursor = self.files.find(_parts_of(job_id)).sort("_id", 1)
        parts = [document["text"] async for document in cursor]
        if not parts:  # a file saved whole, before files were kept in parts
            found = await self.files.find_one({"_id": job_id})
            if found is None:
                raise LookupError(f"the file of import {job_id} is gone")
            return found["text"]
        return "".join(parts)

    async def forget(self, job_id: str) -> None:
        await self.files.delete_many(_parts_of(job_id))
        await self.files.delete_one({"_id": job_id})


def _parts_of(job_id: str) -> dict[str, Any]:
    # ":" sorts just before ";": the range holds exactly this job's parts
    return {"_id": {"$gte": f"{job_id}:", "$lt": f"{job_id};"}}
