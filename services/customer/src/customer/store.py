"""The customer service's collections and the queries it runs on them, nothing else."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError
from servicekit.database import DUPLICATE_KEY
from servicekit.outbox import FIELD as OUTBOX

CUSTOMERS = "customers"
# (record after the change, version it was computed from or None if new, outbox entries,
#  fields the change removed)
RecordWrite = tuple[dict[str, Any], int | None, list[dict[str, Any]], Iterable[str]]


class DuplicateMdmCode(Exception):
    pass


class CustomerStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.customers = db[CUSTOMERS]

    async def create_indexes(self) -> None:
        await self.customers.create_index(
            [("mdm_code", ASCENDING)], unique=True, sparse=True, name="mdm_code_unique"
        )

    async def get(self, customer_id: str) -> dict[str, Any] | None:
        return await self.customers.find_one({"_id": customer_id}, {OUTBOX: 0})

    async def by_mdm_codes(self, codes: Iterable[str]) -> dict[str, dict[str, Any]]:
        docs = self.customers.find({"mdm_code": {"$in": list(codes)}}, {OUTBOX: 0})
        return {doc["mdm_code"]: doc async for doc in docs}

    async def insert(self, record: dict[str, Any], outbox: list[dict[str, Any]]) -> None:
        try:
            await self.customers.insert_one({**record, OUTBOX: outbox})
        except DuplicateKeyError as exc:
            raise DuplicateMdmCode(record.get("mdm_code")) from exc

    async def write_changes(self, changes: Sequence[RecordWrite]) -> set[int]:
        """Write the changes as one bulk of conditional upserts.

        Each write applies only if the stored version is still the one the change was computed
        from (or the record is still absent). Returns the indexes of the writes that lost that
        race (duplicate key on the upsert): the caller recomputes those.
        """
        ops = []
        for record, previous, entries, removed in changes:
            condition: dict[str, Any] = (
                {"version": previous} if previous is not None else {"version": {"$exists": False}}
            )
            fields = {k: v for k, v in record.items() if k != "_id"}
            update: dict[str, Any] = {"$set": fields}
            if removed:
                update["$unset"] = dict.fromkeys(removed, "")
            if entries:
                update["$push"] = {OUTBOX: {"$each": entries}}
            ops.append(UpdateOne({"_id": record["_id"], **condition}, update, upsert=True))
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
