"""The loyalty service's collections and queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from servicekit.outbox import FIELD as OUTBOX

MEMBERS = "members"


class LoyaltyStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.members = db[MEMBERS]

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
