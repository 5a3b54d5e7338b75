"""Segmentation's replica of customers from a batch of customer events, against the real
database: every event's effect stays, not only the newest one's per customer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import ConsumerRecord
from contracts.customer_events import CustomerChanged, CustomersMerged, CustomerUpdated
from contracts.customers import Customer
from contracts.topics import CUSTOMER_EVENTS
from servicekit.consuming import Delivery, decode_record

pytestmark = pytest.mark.servers
NOW = datetime(2026, 11, 30, tzinfo=UTC)


def customer(cid: str, version: int, **fields: str) -> Customer:
    return Customer.model_validate(
        {"id": cid, "version": version, "kind": "person", "created_at": NOW, "updated_at": NOW,
         **fields}
    )  # fmt: skip


def delivered(event: CustomerChanged, offset: int) -> Delivery:
    envelope = event.envelope(source="cdp/customer", subject=event.customer.id)
    value = envelope.body()
    record = ConsumerRecord(
        "customer.events", 0, offset, 0, 0, event.customer.id.encode(), value, None, 0,
        len(value), envelope.headers(),
    )  # fmt: skip
    decoded = decode_record(CUSTOMER_EVENTS, record)
    assert isinstance(decoded, Delivery)
    return decoded


async def test_a_later_event_for_the_survivor_keeps_the_profiles_its_merge_inherited(
    segmentation,
) -> None:
    survivor, loser = (uuid.uuid4().hex for _ in range(2))
    await segmentation.store.customers.insert_many(
        [
            {"_id": survivor, "customer": {"kind": "person"}, "customer_version": 1,
             "profiles": {"ADOPT": {"adoption": "low"}}, "segments": {}, "revision": 1},
            {"_id": loser, "customer": {"kind": "person"}, "customer_version": 1,
             "profiles": {"POT": {"potential": "high"}, "ADOPT": {"adoption": "high"}},
             "segments": {}, "revision": 1},
        ]
    )  # fmt: skip
    merged = CustomersMerged(
        customer=customer(survivor, 2, last_name="Pop"),
        origin="mdm",
        merged_customer_id=loser,
    )
    edited = CustomerUpdated(
        customer=customer(survivor, 3, last_name="Popa"),
        origin="api",
        changed_fields=["last_name"],
    )
    assert await segmentation.on_customer_events([delivered(merged, 0), delivered(edited, 1)]) == []
    doc = await segmentation.store.customers.find_one({"_id": survivor})
    assert doc["customer_version"] == 3 and doc["customer"]["last_name"] == "Popa"
    assert doc["profiles"] == {
        "POT": {"potential": "high"},  # inherited from the merged customer
        "ADOPT": {"adoption": "low"},  # the survivor's own value wins
    }
