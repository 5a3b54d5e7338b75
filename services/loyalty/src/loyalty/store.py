"""The loyalty service's collections and queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError
from servicekit import batch_jobs, consumer_slot
from servicekit.consumer_slot import ConsumerSlot, SlotWrite, without_slots
from servicekit.database import DUPLICATE_KEY
from servicekit.outbox import FIELD as OUTBOX
from servicekit.tombstones import COLLECTION as TOMBSTONES
from servicekit.tombstones import Tombstones

MEMBERS = "members"
# The reassessment job that last moved a member's tier (see tier_reassessment.py)
REASSESSED = "tier_reassessed_by"
NATURAL = {"$natural": 1}  # a whole-collection read on purpose (allowed by the scan guard)
HIDDEN = {OUTBOX: 0, consumer_slot.FIELD: 0, REASSESSED: 0}  # what a member read leaves out


class LoyaltyStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.members = db[MEMBERS]
        self.tombstones = Tombstones(db[TOMBSTONES])

    async def create_indexes(self) -> None:
        await self.members.create_index(
            [("referral_code", ASCENDING)], unique=True, name="referral_code_unique"
        )

    async def get_member(self, customer_id: str) -> dict[str, Any] | None:
        return await self.members.find_one({"_id": customer_id}, HIDDEN)

    async def members_with_slots(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Members by id with the consumer paths' slots (one query)."""
        if not ids:
            return {}
        cursor = self.members.find({"_id": {"$in": list(ids)}}, {OUTBOX: 0})
        return {doc["_id"]: doc async for doc in cursor}

    async def enroll(
        self, members: Sequence[tuple[dict[str, Any], SlotWrite]], slot: ConsumerSlot
    ) -> set[str]:
        """Insert members not enrolled yet, with the enrollment path's slot (the registration
        and the events it caused); an existing member is left alone. Returns the ids
        inserted."""
        if not members:
            return set()
        ops = [
            UpdateOne(
                {"_id": member["_id"]},
                {
                    "$setOnInsert": {
                        **without_slots({k: v for k, v in member.items() if k != "_id"}),
                        slot.field: slot.content(slot_write),
                    }
                },
                upsert=True,
            )
            for member, slot_write in members
        ]
        result = await self.members.bulk_write(ops, ordered=False)
        return {str(doc_id) for doc_id in (result.upserted_ids or {}).values()}

    async def set_tier(self, customer_id: str, tier: str, change: dict[str, Any]) -> None:
        await self.set_tiers([(customer_id, tier, change)])

    async def set_tiers(self, moves: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
        """Members' new tiers with their history entries, in one bulk write."""
        if moves:
            await self.members.bulk_write(
                [
                    UpdateOne(
                        {"_id": cid}, {"$set": {"tier": tier}, "$push": {"tier_history": change}}
                    )
                    for cid, tier, change in moves
                ],
                ordered=False,
            )

    async def members_page(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        """The next ``limit`` members after ``after`` in id order, with tier and status."""
        cursor = self.members.find(batch_jobs.after(after), {"tier": 1, "status": 1, REASSESSED: 1})
        return await cursor.sort("_id").limit(limit).to_list()

    async def move_tiers(self, moves: Sequence[tuple[str, str, dict[str, Any]]], job: str) -> None:
        """A reassessment chunk's moves in one bulk, each stamped with the job."""
        if moves:
            await self.members.bulk_write(
                [
                    UpdateOne(
                        {"_id": cid},
                        {
                            "$set": {"tier": tier, REASSESSED: job},
                            "$push": {"tier_history": change},
                        },
                    )
                    for cid, tier, change in moves
                ],
                ordered=False,
            )

    async def members_by_id(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        cursor = self.members.find({"_id": {"$in": list(ids)}}, HIDDEN)
        return {doc["_id"]: doc async for doc in cursor}

    async def member_states(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Members by id with what a purchase needs of them: status and tier (one query)."""
        if not ids:
            return {}
        cursor = self.members.find({"_id": {"$in": list(ids)}}, {"status": 1, "tier": 1})
        return {doc["_id"]: doc async for doc in cursor}

    async def set_statuses(self, statuses: Sequence[tuple[str, str, int]]) -> None:
        """Follow customers' statuses (customer id, status, customer version) in one bulk
        write, ignoring events older than the last one applied."""
        if not statuses:
            return
        await self.members.bulk_write(
            [
                UpdateOne(
                    {
                        "_id": customer_id,
                        "$or": [
                            {"customer_version": {"$lt": customer_version}},
                            {"customer_version": None},
                        ],
                    },
                    {"$set": {"status": status, "customer_version": customer_version}},
                )
                for customer_id, status, customer_version in statuses
            ],
            ordered=False,
        )

    async def erase(self, customer_ids: Sequence[str]) -> None:
        """Tombstones first, then the data: a crash in between is finished by redelivery."""
        if not customer_ids:
            return
        await self.tombstones.add(customer_ids)
        await self.members.delete_many({"_id": {"$in": list(customer_ids)}})

    async def erased(self, customer_ids: Sequence[str]) -> set[str]:
        return await self.tombstones.among(customer_ids)


PURCHASES, LEDGER = "purchases", "ledger"
GUARD_FIELDS = {"seq": 0, "guard": 0}  # the debit guard's bookkeeping, not shown


async def _insert_new(collection: AsyncCollection, docs: Sequence[dict[str, Any]]) -> set[int]:
    """Insert documents whose ids derive from what caused them, in one unordered batch; returns
    the indexes of those already there (a replay: their duplicate key is the expected answer,
    and an insert is cheaper than an upsert)."""
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return {e["index"] for e in errors}
    return set()


class PointsStore:
    """Purchases (one document per order id) and the points ledger (one document per entry,
    with an id derived from what caused it, so a replay adds nothing)."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.purchases = db[PURCHASES]
        self.ledger = db[LEDGER]

    async def create_indexes(self) -> None:
        await self.purchases.create_index(
            [("customer_id", ASCENDING), ("purchased_at", ASCENDING)], name="customer_purchases"
        )
        await self.ledger.create_index(
            [("customer_id", ASCENDING), ("at", ASCENDING)], name="customer_ledger"
        )
        # what an order earned, to take back on a return or move on a transfer
        await self.ledger.create_index([("order_id", ASCENDING)], name="order_entries")
        # Debits that must not overdraw (redemptions, adjustments down, transfers out) are
        # numbered per member: each takes the number after the highest one it read before
        # checking the balance. Two writers who checked against the same ledger take the same
        # number and the unique key lets one in; the other reads again. The ledger stays the one
        # place the balance comes from, and the guard is a single-document insert (the database
        # has no multi-document transactions).
        await self.ledger.create_index(
            [("guard", ASCENDING)], unique=True, sparse=True, name="debit_guard"
        )
        await self.ledger.create_index(
            [("customer_id", ASCENDING), ("seq", DESCENDING)], name="customer_debits"
        )

    async def record_purchases(self, docs: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Insert orders not seen yet (one batched insert); a repeated order id leaves the first
        one as it was. Returns every order as stored: the new ones as given, the repeats read
        back (one query, by id, only when there are repeats)."""
        if not docs:
            return {}
        repeats = await _insert_new(self.purchases, docs)
        stored = {doc["_id"]: doc for i, doc in enumerate(docs) if i not in repeats}
        if repeats:
            stored.update(await self.purchases_by_id([docs[i]["_id"] for i in repeats]))
        return stored

    async def purchases_by_id(self, order_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not order_ids:
            return {}
        cursor = self.purchases.find({"_id": {"$in": list(order_ids)}})
        return {doc["_id"]: doc async for doc in cursor}

    async def purchases_of(self, customer_id: str, limit: int | None = None) -> list[dict]:
        cursor = self.purchases.find({"customer_id": customer_id}).sort("purchased_at", -1)
        return await (cursor.limit(limit) if limit else cursor).to_list(None)

    async def move_purchase(self, order_id: str, n: int, change: dict) -> bool:
        """Record the order's n-th transfer, if the purchase is still the giver's and has no n-th
        transfer yet (so a late repeat of a finished transfer cannot move it twice)."""
        result = await self.purchases.update_one(
            {
                "_id": order_id,
                "customer_id": change["from"],
                f"transfers.{n - 1}": {"$exists": False},
            },
            {"$set": {"customer_id": change["to"]}, "$push": {"transfers": change}},
        )
        return result.modified_count == 1

    async def add_entries(self, entries: Sequence[dict[str, Any]]) -> None:
        """Append ledger entries (one batched insert); an id already there is a replay and
        stays as it was."""
        if entries:
            await _insert_new(self.ledger, entries)

    async def last_debit(self, customer_id: str) -> int:
        """The number of the member's latest guarded debit (0 before the first): read before the
        balance, so that a debit inserted after this read takes this number + 1 or more."""
        cursor = self.ledger.find({"customer_id": customer_id}, {"seq": 1})
        head = await cursor.sort("seq", DESCENDING).limit(1).to_list(1)
        return int(head[0].get("seq") or 0) if head else 0

    async def add_debit(self, entry: dict[str, Any], seq: int) -> bool:
        """Insert a debit as the member's guarded debit number ``seq``; False if that number
        (another writer checked the same balance) or the entry's id is taken."""
        try:
            await self.ledger.insert_one(
                {**entry, "seq": seq, "guard": f"{entry['customer_id']}:{seq}"}
            )
        except DuplicateKeyError:
            return False
        return True

    async def entry(self, entry_id: str) -> dict[str, Any] | None:
        return await self.ledger.find_one({"_id": entry_id}, GUARD_FIELDS)

    async def drop_entries(self, entry_ids: Sequence[str]) -> None:
        await self.ledger.delete_many({"_id": {"$in": list(entry_ids)}})

    async def entries_since(
        self, customer_ids: Sequence[str], since: datetime
    ) -> dict[str, list[dict[str, Any]]]:
        """The ledger entries of these customers from ``since`` on (one query, by the
        customer_ledger index), per customer."""
        found: dict[str, list[dict[str, Any]]] = {cid: [] for cid in customer_ids}
        if customer_ids:
            cursor = self.ledger.find(
                {"customer_id": {"$in": list(customer_ids)}, "at": {"$gte": since}},
                {"customer_id": 1, "kind": 1, "points": 1, "at": 1},
            )
            async for entry in cursor:
                found[entry["customer_id"]].append(entry)
        return found

    async def entries_for_order(self, order_id: str) -> list[dict[str, Any]]:
        return await self.ledger.find({"order_id": order_id}).to_list(None)

    async def mark_returned(self, order_id: str, at: datetime, reason: str | None) -> None:
        await self.purchases.update_one(
            {"_id": order_id, "returned_at": None},
            {"$set": {"returned_at": at, "return_reason": reason}},
        )

    async def entries_by_customer(self, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The ledgers of these customers (one query for a chunk of a batch job)."""
        ledgers: dict[str, list[dict[str, Any]]] = {}
        async for entry in self.ledger.find({"customer_id": {"$in": list(ids)}}):
            ledgers.setdefault(entry["customer_id"], []).append(entry)
        return ledgers

    async def entries_of(self, customer_id: str, limit: int | None) -> list[dict[str, Any]]:
        """The customer's ledger, newest first (all of it without a limit)."""
        cursor = self.ledger.find({"customer_id": customer_id}, GUARD_FIELDS)
        cursor = cursor.sort([("at", -1), ("_id", 1)])
        return await (cursor.limit(limit) if limit else cursor).to_list(None)

    async def forget(self, customer_ids: Sequence[str]) -> None:
        if customer_ids:
            ids = list(customer_ids)
            await self.purchases.delete_many({"customer_id": {"$in": ids}})
            await self.ledger.delete_many({"customer_id": {"$in": ids}})


COUPON_DEFINITIONS, COUPONS = "coupon_definitions", "coupons"


class CouponStore:
    """Coupon definitions (the promotions) and the coupons issued from them."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.definitions = db[COUPON_DEFINITIONS]
        self.coupons = db[COUPONS]

    async def create_indexes(self) -> None:
        await self.coupons.create_index(
            [("customer_id", ASCENDING), ("issued_at", ASCENDING)], name="customer_coupons"
        )
        # A coupon issued under a per-customer limit holds one of the customer's numbered places
        # in that promotion (``<promotion>:<customer>:<k>``, k up to the limit): two issues that
        # counted the same coupons take the same place, and the unique key lets one in.
        await self.coupons.create_index(
            [("place", ASCENDING)], unique=True, sparse=True, name="coupon_place_unique"
        )

    async def insert_definition(self, doc: dict[str, Any]) -> bool:
        try:
            await self.definitions.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def definition(self, code: str) -> dict[str, Any] | None:
        return await self.definitions.find_one({"_id": code})

    async def all_definitions(self) -> list[dict[str, Any]]:
        return await self.definitions.find().sort("_id").to_list(None)

    async def insert(self, coupon: dict[str, Any]) -> bool:
        try:
            await self.coupons.insert_one(coupon)
        except DuplicateKeyError:
            return False
        return True

    async def place_taken(self, place: str) -> bool:
        return await self.coupons.find_one({"place": place}, {"_id": 1}) is not None

    async def coupon(self, customer_id: str, coupon_id: str) -> dict[str, Any] | None:
        return await self.coupons.find_one({"_id": coupon_id, "customer_id": customer_id})

    async def coupons_of(self, customer_id: str) -> list[dict[str, Any]]:
        cursor = self.coupons.find({"customer_id": customer_id}).sort("issued_at", -1)
        return await cursor.to_list(None)

    async def count(self, query: Mapping[str, Any]) -> int:
        return await self.coupons.count_documents(dict(query))

    async def transition(
        self, coupon_id: str, from_states: Sequence[str], fields: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Move a coupon on from one of ``from_states``; None if it was not in one."""
        return await self.coupons.find_one_and_update(
            {"_id": coupon_id, "state": {"$in": list(from_states)}},
            {"$set": dict(fields)},
            return_document=ReturnDocument.AFTER,
        )

    async def take_redemption(self, code: str, limited: bool) -> bool:
        """Count one redemption, against the global limit if there is one (its ``remaining``
        count never goes below zero, however many redeem at once)."""
        query: dict[str, Any] = {"_id": code}
        change: dict[str, Any] = {"redeemed": 1}
        if limited:
            query["remaining"] = {"$gt": 0}
            change["remaining"] = -1
        result = await self.definitions.update_one(query, {"$inc": change})
        return result.modified_count == 1

    async def give_back_redemption(self, code: str, limited: bool) -> None:
        change = {"redeemed": -1, **({"remaining": 1} if limited else {})}
        await self.definitions.update_one({"_id": code}, {"$inc": change})

    async def forget(self, customer_ids: Sequence[str]) -> None:
        if customer_ids:
            await self.coupons.delete_many({"customer_id": {"$in": list(customer_ids)}})


RFM_RUNS = "rfm_runs"


class VersionedRuns:
    """Runs numbered 1, 2, ... in ``self.runs`` (RFM, predicted value): one replica gets each."""

    runs: AsyncCollection

    async def next_version(self) -> int:
        latest = await self.runs.find_one({}, sort=[("_id", -1)])
        return (latest["_id"] if latest else 0) + 1

    async def save_run(self, run: dict[str, Any]) -> bool:
        try:
            await self.runs.insert_one(run)
        except DuplicateKeyError:
            return False  # another replica ran the same version at the same time
        return True

    async def latest(self) -> dict[str, Any] | None:
        return await self.runs.find_one({}, sort=[("_id", -1)])


class RfmStore(VersionedRuns):
    """RFM runs (thresholds and lookback, versioned) and the scores written on members."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.runs = db[RFM_RUNS]
        self.members = db[MEMBERS]
        self.purchases = db[PURCHASES]

    async def purchase_facts(self, since: datetime) -> list[dict[str, Any]]:
        """The lookback's purchases: a run reads the collection through, on purpose."""
        cursor = self.purchases.find(
            {"purchased_at": {"$gte": since}, "returned_at": None},
            {"customer_id": 1, "purchased_at": 1, "total": 1},
            hint=NATURAL,
        )
        return await cursor.to_list(None)

    async def purchase_facts_of(self, ids: Sequence[str], since: datetime) -> list[dict[str, Any]]:
        """The purchases of these customers in the window (one query per chunk of a run)."""
        cursor = self.purchases.find(
            {
                "customer_id": {"$in": list(ids)},
                "purchased_at": {"$gte": since},
                "returned_at": None,
            },
            {"customer_id": 1, "purchased_at": 1, "total": 1},
        )
        return await cursor.to_list(None)

    async def members_among(self, ids: Sequence[str]) -> set[str]:
        """Which of these customers are members (by id, a thousand at a time)."""
        found: set[str] = set()
        for start in range(0, len(ids), 1000):
            cursor = self.members.find(
                {"_id": {"$in": list(ids[start : start + 1000])}}, {"_id": 1}
            )
            found |= {doc["_id"] async for doc in cursor}
        return found

    async def members_page(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        """The next ``limit`` members after ``after`` in id order, with their stars."""
        cursor = self.members.find(batch_jobs.after(after), {"rfm": 1, "status": 1, "predicted": 1})
        return await cursor.sort("_id").limit(limit).to_list()

    async def write_scores(self, writes: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """A chunk's changed stars in one bulk (their events go out after it)."""
        if not writes:
            return
        await self.members.bulk_write(
            [UpdateOne({"_id": cid}, {"$set": {"rfm": rfm}}) for cid, rfm in writes],
            ordered=False,
        )


ENGAGEMENT = "engagement"


class EngagementStore:
    """Survey answers and communications sent, one document each (id from the source)."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.engagement = db[ENGAGEMENT]

    async def create_indexes(self) -> None:
        await self.engagement.create_index(
            [("customer_id", ASCENDING), ("kind", ASCENDING), ("at", ASCENDING)],
            name="customer_engagement",
        )

    async def add(self, docs: Sequence[dict[str, Any]]) -> None:
        if docs:
            await self.engagement.bulk_write(
                [
                    UpdateOne(
                        {"_id": d["_id"]},
                        {"$setOnInsert": {k: v for k, v in d.items() if k != "_id"}},
                        upsert=True,
                    )
                    for d in docs
                ],
                ordered=False,
            )

    async def latest(self, customer_id: str, kind: str, limit: int) -> list[dict[str, Any]]:
        cursor = self.engagement.find({"customer_id": customer_id, "kind": kind})
        return await cursor.sort([("at", -1), ("_id", 1)]).limit(limit).to_list()

    async def forget(self, customer_ids: Sequence[str]) -> None:
        if customer_ids:
            await self.engagement.delete_many({"customer_id": {"$in": list(customer_ids)}})


REFERRALS = "referrals"


class ReferralStore:
    """Who referred whom: one document per referred person (invited by email, or claimed by
    code), with the status reached: invited, registered, purchased."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.referrals = db[REFERRALS]
        self.members = db[MEMBERS]

    async def create_indexes(self) -> None:
        # the referrals a member made, newest first; and a referred member's own referral
        # (a claim, a first purchase), by status
        await self.referrals.create_index(
            [("referrer_id", ASCENDING), ("invited_at", DESCENDING)], name="referrer"
        )
        await self.referrals.create_index(
            [("referred_id", ASCENDING), ("status", ASCENDING)], name="referred"
        )
        # A member is referred once: the referral that names them (a claim by code, or an
        # invitation their registration fulfils) sets ``referred_once`` to their id in the same
        # single-document write, and this unique key refuses a second one. ``referred_id``
        # cannot carry it itself: pending invitations hold it as null.
        await self.referrals.create_index(
            [("referred_once", ASCENDING)], unique=True, sparse=True, name="referred_once"
        )

    async def member_by_code(self, code: str) -> dict[str, Any] | None:
        return await self.members.find_one({"referral_code": code}, HIDDEN)

    async def insert(self, doc: dict[str, Any]) -> bool:
        try:
            await self.referrals.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def of_referrer(self, customer_id: str) -> list[dict[str, Any]]:
        cursor = self.referrals.find({"referrer_id": customer_id}).sort("invited_at", -1)
        return await cursor.to_list(None)

    async def find(self, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        return await self.referrals.find(dict(query)).to_list(None)

    async def advance(self, referral_id: str, from_status: str, fields: Mapping[str, Any]) -> bool:
        """Move a referral on from ``from_status``; False if it was not there, or if the fields
        name a referred member whom another referral names already."""
        try:
            result = await self.referrals.update_one(
                {"_id": referral_id, "status": from_status}, {"$set": dict(fields)}
            )
        except DuplicateKeyError:
            return False
        return result.modified_count == 1

    async def forget(self, customer_ids: Sequence[str]) -> None:
        if customer_ids:
            ids = list(customer_ids)
            await self.referrals.delete_many(
                {"$or": [{"referrer_id": {"$in": ids}}, {"referred_id": {"$in": ids}}]}
            )
