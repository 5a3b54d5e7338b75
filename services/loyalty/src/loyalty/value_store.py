"""Predicted-value runs (the fitted models' parameters, versioned) and the predictions written on
members."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from loyalty.store import MEMBERS, NATURAL, PURCHASES

VALUE_RUNS = "value_runs"
FIELD = "predicted"  # on the member


class ValueStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.runs = db[VALUE_RUNS]
        self.members = db[MEMBERS]
        self.purchases = db[PURCHASES]

    async def purchase_facts(self) -> list[dict[str, Any]]:
        """Every purchase not returned: a run reads the collection through, on purpose."""
        cursor = self.purchases.find(
            {"returned_at": None},
            {"customer_id": 1, "purchased_at": 1, "total": 1},
            hint=NATURAL,
        )
        return await cursor.to_list(None)

    async def member_ids(self) -> set[str]:
        """Every member's id: a run reads them through, on purpose."""
        return {doc["_id"] async for doc in self.members.find({}, {"_id": 1}, hint=NATURAL)}

    async def next_version(self) -> int:
        latest = await self.runs.find_one({}, sort=[("_id", -1)])
        return (latest["_id"] if latest else 0) + 1

    async def save_run(self, run: dict[str, Any]) -> bool:
        try:
            await self.runs.insert_one(run)
        except DuplicateKeyError:
            return False  # another replica ran the same version at the same time
        return True

    async def finish_run(self, version: int, fields: dict[str, Any]) -> None:
        await self.runs.update_one({"_id": version}, {"$set": fields})

    async def get_run(self, version: int) -> dict[str, Any] | None:
        return await self.runs.find_one({"_id": version})

    async def latest(self) -> dict[str, Any] | None:
        return await self.runs.find_one({}, sort=[("_id", -1)])

    async def write(self, predictions: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Each member's prediction, a thousand per bulk; a newer run's is never overwritten."""
        for start in range(0, len(predictions), 1000):
            ops = [
                UpdateOne(
                    {
                        "_id": cid,
                        "$or": [
                            {f"{FIELD}.version": None},
                            {f"{FIELD}.version": {"$lte": value["version"]}},
                        ],
                    },
                    {"$set": {FIELD: value}},
                )
                for cid, value in predictions[start : start + 1000]
            ]
            await self.members.bulk_write(ops, ordered=False)
