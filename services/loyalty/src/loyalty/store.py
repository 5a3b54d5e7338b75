"""The loyalty service's collections and queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from servicekit.outbox import FIELD as OUTBOX

MEMBERS = "members"
ERASURES = "erasures"  # ids of erased customers: a replayed registration must not re-enroll


class LoyaltyStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.members = db[MEMBERS]
        self.erasures = db[ERASURES]

    async def create_indexes(self) -> None:
        await self.members.create_index(
            [("referral_code", ASCENDING)], unique=True, name="referral_code_unique"
        )

    async def get_member(self, customer_id: str) -> dict[str, Any] | None:
        return await self.members.find_one({"_id": customer_id}, {OUTBOX: 0})

    async def enroll(
        self, members: Sequence[tuple[dict[str, Any], list[dict[str, Any]]]]
    ) -> set[str]:
        """Insert members not enrolled yet (with their outbox entries); an existing member is
        left alone, so a redelivered registration changes nothing. Returns the ids inserted."""
        if not members:
            return set()
        ops = [
            UpdateOne(
                {"_id": member["_id"]},
                {
                    "$setOnInsert": {
                        **{k: v for k, v in member.items() if k != "_id"},
                        OUTBOX: entries,
                    }
                },
                upsert=True,
            )
            for member, entries in members
        ]
        result = await self.members.bulk_write(ops, ordered=False)
        return {str(doc_id) for doc_id in result.upserted_ids.values()}

    async def erase(self, customer_ids: Sequence[str]) -> None:
        """Tombstones first, then the members: a crash in between is finished by redelivery."""
        if not customer_ids:
            return
        await self.erasures.bulk_write(
            [UpdateOne({"_id": cid}, {"$setOnInsert": {}}, upsert=True) for cid in customer_ids],
            ordered=False,
        )
        await self.members.delete_many({"_id": {"$in": list(customer_ids)}})

    async def erased(self, customer_ids: Sequence[str]) -> set[str]:
        if not customer_ids:
            return set()
        cursor = self.erasures.find({"_id": {"$in": list(customer_ids)}}, {"_id": 1})
        return {doc["_id"] async for doc in cursor}
