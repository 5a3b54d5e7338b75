"""The outbox relay over the real database: what it publishes, when, and what it leaves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from contracts.envelope import Envelope
from prometheus_client import REGISTRY
from servicekit import outbox
from servicekit.database import make_client
from servicekit.messaging import OutgoingRecord
from servicekit.outbox import OutboxRelay
from servicekit.settings import ServiceSettings

pytestmark = pytest.mark.servers


class FlakyPublisher:
    """Records what it publishes; fails the first ``failures`` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.published: list[OutgoingRecord] = []

    async def publish(self, records: list[OutgoingRecord]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker down")
        self.published.extend(records)


async def pending(docs) -> list[str]:
    """Ids of the documents with entries left (read whole: the test collections are tiny)."""
    return [doc["_id"] async for doc in docs.find({}) if doc.get(outbox.FIELD)]


def entry(key: str, age_seconds: float = 0) -> dict:
    envelope = Envelope(type="t.Test", source="test", data={"key": key}, subject=key)
    item = outbox.entry("topic", key, envelope)
    item["at"] = datetime.now(UTC) - timedelta(seconds=age_seconds)
    return item


async def test_start_up_sweep_publishes_every_leftover_and_clears_it(mongo_db) -> None:
    docs = mongo_db["docs"]
    await docs.insert_many(
        [
            {"_id": "old", outbox.FIELD: [entry("old", 60)]},
            {"_id": "new", outbox.FIELD: [entry("new")]},
        ]
    )
    publisher = FlakyPublisher()
    relay = OutboxRelay(docs, publisher, sweep_seconds=60)  # type: ignore[arg-type]
    await relay.start()
    await relay.stop()
    assert sorted(r.key for r in publisher.published) == [b"new", b"old"]
    assert await pending(docs) == []


async def test_a_later_sweep_leaves_entries_a_writer_may_be_delivering(mongo_db) -> None:
    docs = mongo_db["docs"]
    await docs.insert_many(
        [
            {"_id": "old", outbox.FIELD: [entry("old", 60)]},
            {"_id": "new", outbox.FIELD: [entry("new")]},
        ]
    )
    publisher = FlakyPublisher()
    relay = OutboxRelay(docs, publisher, sweep_seconds=5)  # type: ignore[arg-type]
    await relay.create_index()
    assert await relay.sweep(min_age_seconds=5) == 1
    assert [r.key for r in publisher.published] == [b"old"]
    assert (await docs.find_one({"_id": "new"}))[outbox.FIELD][0]["id"]


async def test_a_failed_delivery_keeps_its_entries_and_the_next_check_publishes_them(
    mongo_db,
) -> None:
    docs = mongo_db["docs"]
    publisher = FlakyPublisher(failures=1)
    relay = OutboxRelay(docs, publisher, sweep_seconds=0.2, safety_sweep_seconds=3600)  # type: ignore[arg-type]
    item = entry("b")
    await docs.insert_one({"_id": "b", outbox.FIELD: [item]})
    await relay.create_index()
    with pytest.raises(ConnectionError):
        await relay.deliver({"b": [item]})
    assert (await docs.find_one({"_id": "b"}))[outbox.FIELD] != []
    relay._task = asyncio.create_task(relay._sweep_forever())  # checks without a start-up sweep
    try:
        for _ in range(50):
            if any(r.key == b"b" for r in publisher.published):
                break
            await asyncio.sleep(0.1)
    finally:
        await relay.stop()
    assert [r.key for r in publisher.published] == [b"b"]
    assert await pending(docs) == []


async def test_the_pending_gauge_counts_documents_holding_entries(mongo_db) -> None:
    docs = mongo_db["docs"]
    await docs.insert_many(
        [
            {"_id": "two", outbox.FIELD: [entry("a", 60), entry("b")]},
            {"_id": "one", outbox.FIELD: [entry("c")]},
            {"_id": "none", outbox.FIELD: []},
            {"_id": "plain"},
        ]
    )
    relay = OutboxRelay(docs, FlakyPublisher())  # type: ignore[arg-type]
    await relay.create_index()
    assert await relay.pending() == 2
    labels = {"collection": "docs"}
    assert REGISTRY.get_sample_value("cdp_outbox_documents_pending", labels) == 2
    assert await relay.sweep() == 3
    assert await relay.pending() == 0
    assert REGISTRY.get_sample_value("cdp_outbox_documents_pending", labels) == 0


async def test_database_commands_are_timed_by_name(servers, mongo_db) -> None:
    """The service's client (make_client) times each command it sends."""
    client = make_client(ServiceSettings(mongodb_url=servers.mongodb_url, env="dev"))
    labels = {"command": "find", "outcome": "ok"}

    def finds() -> float:
        return REGISTRY.get_sample_value("cdp_db_command_duration_seconds_count", labels) or 0.0

    before = finds()
    try:
        await client[mongo_db.name]["docs"].find_one({"_id": "x"})
    finally:
        await client.close()
    assert finds() == before + 1
