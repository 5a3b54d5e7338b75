"""A consumer path's slot over the real database: what a write puts there, what a redelivery
finds, and that another writer's update leaves it alone."""

from __future__ import annotations

import pytest
from contracts.envelope import Envelope
from servicekit import consumer_slot, outbox
from servicekit.consumer_slot import ConsumerSlot, SlotWrite, without_slots
from servicekit.messaging import OutgoingRecord

pytestmark = pytest.mark.servers


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list[OutgoingRecord] = []

    async def publish(self, records: list[OutgoingRecord]) -> None:
        self.published.extend(records)


def event(key: str) -> dict:
    envelope = Envelope(type="t.Test", source="test", data={"key": key}, subject=key)
    return outbox.entry("topic", key, envelope)


async def test_a_write_fills_the_slot_and_a_redelivery_finds_its_events(mongo_db) -> None:
    docs = mongo_db["docs"]
    publisher = RecordingPublisher()
    slot = ConsumerSlot("ingest", publisher)  # type: ignore[arg-type]
    write = SlotWrite()
    write.applied(["t/0/5", "t/0/6"], [event("a")])
    await docs.update_one(
        {"_id": "d"}, {"$set": {"name": "x", slot.field: slot.content(write)}}, upsert=True
    )
    # another writer: its fields, its outbox, never the slot (even when it read the slot along)
    read = await docs.find_one({"_id": "d"})
    await docs.update_one(
        {"_id": "d"},
        {"$set": without_slots({**read, "name": "y"}), "$push": {outbox.FIELD: event("b")}},
    )

    doc = await docs.find_one({"_id": "d"})
    state = slot.take(doc)
    assert consumer_slot.FIELD not in doc and doc["name"] == "y"
    assert state.inputs == ("t/0/5", "t/0/6")
    assert state.holds(["t/0/6"]) and not state.holds(["t/0/7"])
    await slot.publish(state.events)
    assert [r.key for r in publisher.published] == [b"a"]


def test_a_write_after_a_redelivery_carries_the_slot_ahead_of_its_own_once() -> None:
    held = consumer_slot.SlotState(("t/0/5",), (event("a"),))
    write = SlotWrite()
    write.carry(held)
    write.carry(held)
    write.applied(["t/0/5", "t/0/7"], [event("c")])
    assert write.inputs == ["t/0/5", "t/0/7"]
    assert [e["key"] for e in write.events] == ["a", "c"]
