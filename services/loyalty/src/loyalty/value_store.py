"""Predicted-value runs (the fitted models' parameters, versioned) and the predictions written on
members."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from servicekit.outbox import FIELD as OUTBOX

from loyalty.store import MEMBERS, PURCHASES, VersionedRuns

VALUE_RUNS = "value_runs"
FIELD = "predicted"  # on the member


class ValueStore(VersionedRuns):
    def __init__(self, db: AsyncDatabase) -> None:
        self.runs = db[VALUE_RUNS]
        self.members = db[MEMBERS]
        self.purchases = db[PURCHASES]

    async def purchases_by_customer(self, page: int = 5_000) -> AsyncIterator[dict[str, Any]]:
        """Every purchase not returned, customer by customer, oldest first: pages along the
        customer_purchases index, each ending before its last customer (who starts the next
        page, whole), so a run keeps one page in memory, and no sort happens in memory."""
        start = ""
        while True:
            docs = await (
                self.purchases.find(
                    {"customer_id": {"$gte": start}, "returned_at": None},
                    {"customer_id": 1, "purchased_at": 1, "total": 1},
                )
                .sort([("customer_id", 1), ("purchased_at", 1)])
                .limit(page)
                .to_list()
            )
            if len(docs) < page:
                for doc in docs:
                    yield doc
                return
            last = docs[-1]["customer_id"]
            if docs[0]["customer_id"] == last:
                page *= 2  # one customer fills the page: read more at once
                continue
            for doc in docs:
                if doc["customer_id"] == last:
                    break
                yield doc
            start = last

    async def finish_run(self, version: int, fields: dict[str, Any]) -> None:
        await self.runs.update_one({"_id": version}, {"$set": fields})

    async def get_run(self, version: int) -> dict[str, Any] | None:
        return await self.runs.find_one({"_id": version})

    async def rfm_of(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The RFM stars of these members (one query per chunk of a run)."""
        cursor = self.members.find({"_id": {"$in": list(ids)}}, {"rfm": 1})
        return {doc["_id"]: doc["rfm"] async for doc in cursor if doc.get("rfm")}

    async def write(
        self, writes: Sequence[tuple[str, dict[str, Any], dict[str, Any]]]
    ) -> dict[str, list[dict[str, Any]]]:
        """Each member's prediction with its event's outbox entry, in one bulk; a newer run's is
        never overwritten. Returns the entries written (member -> entries) for the relay."""
        if not writes:
            return {}
        ops = [
            UpdateOne(
                {
                    "_id": cid,
                    "$or": [
                        {f"{FIELD}.version": None},
                        {f"{FIELD}.version": {"$lte": value["version"]}},
                    ],
                },
                {"$set": {FIELD: value}, "$push": {OUTBOX: entry}},
            )
            for cid, value, entry in writes
        ]
        await self.members.bulk_write(ops, ordered=False)
        return {cid: [entry] for cid, _, entry in writes}
