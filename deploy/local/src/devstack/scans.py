"""The collection-scan record of our MongoDB-wire launcher, as the tests' guard reads it.

The launcher records every query that no index served (in the spirit of mongod's
``notablescan``): finds, counts and aggregations by their leading ``$match``, update and delete
filters, distinct and findAndModify. Each entry names the collection, the query's shape (its
filter with values replaced by their type names, and the sort), how many documents the scans
examined and how often the shape ran. A scan is deliberate when the query said so, with
``hint={"$natural": 1}`` or an empty filter: a read of the whole collection on purpose. Any other
scan is a query that is missing its index. A real mongod does not know the command
(CommandNotFound): there the record, and the guard, are off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo import MongoClient
from pymongo.errors import OperationFailure

COMMAND = "cdpScans"
COMMAND_NOT_FOUND = 59


@dataclass(frozen=True)
class Scan:
    db: str
    collection: str
    shape: str
    examined: int
    count: int
    deliberate: bool

    @classmethod
    def from_record(cls, entry: dict[str, Any]) -> Scan:
        return cls(
            db=str(entry.get("db")),
            collection=str(entry.get("collection")),
            shape=str(entry.get("shape")),
            examined=int(entry.get("examined", 0)),
            count=int(entry.get("count", 1)),
            deliberate=bool(entry.get("deliberate", False)),
        )

    def __str__(self) -> str:
        times = "once" if self.count == 1 else f"{self.count} times"
        return (
            f"{self.db}.{self.collection} {self.shape}: ran {times}, "
            f"{self.examined} documents examined"
        )


class ScanRecord:
    """The launcher's record of collection scans, read and cleared through a client."""

    def __init__(self, client: MongoClient) -> None:
        self._client = client

    @classmethod
    def open(cls, mongodb_url: str) -> ScanRecord | None:
        """The record of the server at ``mongodb_url``, cleared; None if it keeps none."""
        client: MongoClient = MongoClient(mongodb_url, serverSelectionTimeoutMS=5000)
        record = cls(client)
        try:
            record.take()
        except OperationFailure as exc:
            client.close()
            if exc.code == COMMAND_NOT_FOUND:
                return None
            raise
        return record

    def take(self) -> list[Scan]:
        """Every scan recorded since the last take; the record starts again empty."""
        answer = self._client.admin.command({COMMAND: 1, "reset": True})
        return [Scan.from_record(entry) for entry in answer.get("scans", [])]

    def reset(self) -> None:
        self.take()

    def unexpected(self) -> list[Scan]:
        """The scans taken now that no query asked for."""
        return [scan for scan in self.take() if not scan.deliberate]

    def close(self) -> None:
        self._client.close()


def explain(scans: list[Scan]) -> str:
    """What a failed test says about its unexpected scans, and what to do."""
    lines = [
        f"{len(scans)} unexpected collection scan(s): no index served these queries.",
        *(f"  {scan}" for scan in scans),
        "Declare the index the query needs in the store's create_indexes (compound where it "
        "sorts), change the query so an index can serve it, or, for a read of the whole "
        'collection by nature, pass hint={"$natural": 1}. README: "Indexes and the scan guard".',
    ]
    return "\n".join(lines)
