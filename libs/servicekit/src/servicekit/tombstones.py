"""Tombstones of erased customers, as a service that keeps a replica holds them: only the ids,
so that a replayed or late event about an erased customer does not bring them back."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

COLLECTION = "erasures"


class Tombstones:
    def __init__(self, collection: AsyncCollection) -> None:
        self._collection = collection

    async def add(self, customer_ids: Sequence[str]) -> None:
        """Record the ids (again is harmless). Write them before deleting the customer's data:
        a crash in between is finished by the redelivered erasure."""
        if customer_ids:
            await self._collection.bulk_write(
                [
                    UpdateOne({"_id": cid}, {"$setOnInsert": {}}, upsert=True)
                    for cid in customer_ids
                ],
                ordered=False,
            )

    async def among(self, customer_ids: Sequence[str]) -> set[str]:
        """Which of these customers were erased."""
        if not customer_ids:
            return set()
        cursor = self._collection.find({"_id": {"$in": list(customer_ids)}}, {"_id": 1})
        return {doc["_id"] async for doc in cursor}
