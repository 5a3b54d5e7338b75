"""The outbox report: events written with a change but not yet published, per service and
collection (``servicekit.outbox``: each document's ``outbox`` array, cleared after the publish).

A collection has an outbox when it carries the relay's sparse index on the entries' times; the
report reads only the documents that index holds (those with pending entries), as the relay's
sweep does, never the whole collection. Entries older than a few seconds mean a relay that
cannot publish (Kafka away) or a service that crashed and has not started again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from contracts.topics import SERVICES
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from servicekit.outbox import FIELD, PENDING

from opskit.settings import OpsSettings

FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PendingEvents:
    service: str
    database: str
    collection: str
    documents: int
    entries: int
    oldest: datetime | None
    by_topic: dict[str, int] = field(default_factory=dict)


async def _outbox_collections(db: AsyncDatabase) -> list[str]:
    names = []
    for name in sorted(await db.list_collection_names()):
        indexes = await (await db[name].list_indexes()).to_list()
        if any(list(index["key"]) == [PENDING] for index in indexes):
            names.append(name)
    return names


async def report(settings: OpsSettings, services: Iterable[str] = ()) -> list[PendingEvents]:
    """One row per collection with an outbox in each service's database (empty ones too)."""
    chosen = list(services) or list(SERVICES)
    unknown = [s for s in chosen if s not in SERVICES]
    if unknown:
        raise ValueError(f"unknown service(s) {', '.join(unknown)}; one of {', '.join(SERVICES)}")
    rows: list[PendingEvents] = []
    client: AsyncMongoClient = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        for service in chosen:
            db = client[settings.database(service)]
            for name in await _outbox_collections(db):
                docs = await db[name].find({PENDING: {"$lt": FAR_FUTURE}}, {FIELD: 1}).to_list()
                entries = [e for d in docs for e in d.get(FIELD) or ()]
                rows.append(
                    PendingEvents(
                        service=service,
                        database=db.name,
                        collection=name,
                        documents=len(docs),
                        entries=len(entries),
                        oldest=min((e["at"] for e in entries), default=None),
                        by_topic=dict(Counter(e["topic"] for e in entries)),
                    )
                )
    finally:
        await client.close()
    return rows
