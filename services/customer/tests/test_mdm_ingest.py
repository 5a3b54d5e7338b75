"""MDM ingest against the real database: one write per change, its events in the MDM path's slot,
and a redelivered batch (the offsets were not committed) publishing them again, also after an
HTTP edit of the same customer in between."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from contracts.topics import MDM_CUSTOMERS
from customer.handlers import MDM_INGEST
from servicekit import consumer_slot, outbox
from servicekit.auth import Identity
from servicekit.consumer_slot import input_id
from servicekit.consuming import Delivery, decode_record

pytestmark = pytest.mark.servers
SLOT = f"{consumer_slot.FIELD}.{MDM_INGEST}"


async def test_a_change_is_one_write_with_its_events_in_the_path_slot(service, mdm) -> None:
    customers, publisher = service
    code = f"HCP-{uuid.uuid4().hex[:6]}"
    first = mdm.upsert(code, 1, 0, first_name="Ana")
    second = mdm.upsert(code, 2, 1, first_name="Anna")
    assert await customers.ingest_mdm([first, second]) == []
    published = publisher.take()
    assert [(t, v) for t, _, v in published] == [
        ("cdp.customer.CustomerRegistered", 1),
        ("cdp.customer.CustomerUpdated", 2),
    ]
    doc = await customers.store.customers.find_one({"mdm_code": code})
    assert not doc.get(outbox.FIELD), "nothing in the outbox: no second write to clear it"
    slot = doc[consumer_slot.FIELD][MDM_INGEST]
    assert slot["inputs"] == [input_id(first), input_id(second)]
    assert [dict(e["headers"])["ce_id"].decode() for e in slot["events"]] == [
        ce_id for _, ce_id, _ in published
    ]
    assert consumer_slot.FIELD not in (await customers.get(doc["_id"])).model_dump()


async def test_a_redelivered_batch_publishes_the_same_events_again(service, mdm) -> None:
    customers, publisher = service
    code = f"HCP-{uuid.uuid4().hex[:6]}"
    batch = [mdm.upsert(code, 1, 0, first_name="Ana"), mdm.upsert(code, 2, 1, first_name="Anna")]
    await customers.ingest_mdm(batch)
    before = publisher.take()
    stored = await customers.store.customers.find_one({"mdm_code": code})

    assert await customers.ingest_mdm(batch) == []  # the crash came before the commit
    assert publisher.take() == before, "the same events (same ids), in the same order"
    assert await customers.store.customers.find_one({"mdm_code": code}) == stored

    # the redelivered part of a batch goes out again ahead of the new part, and stays in the
    # slot until it is published: a second crash would need it
    newer = mdm.upsert(code, 3, 2, first_name="Anka")
    await customers.ingest_mdm([batch[1], newer])
    assert [ce_id for _, ce_id, _ in publisher.take()][:2] == [ce_id for _, ce_id, _ in before]
    slot = (await customers.store.customers.find_one({"mdm_code": code}))[consumer_slot.FIELD]
    assert slot[MDM_INGEST]["inputs"] == [*map(input_id, batch), input_id(newer)]

    # the next batch's write replaces the slot
    await customers.ingest_mdm([mdm.upsert(code, 4, 3, first_name="Ann")])
    slot = (await customers.store.customers.find_one({"mdm_code": code}))[consumer_slot.FIELD]
    assert len(slot[MDM_INGEST]["inputs"]) == 1


async def test_an_http_edit_between_crash_and_redelivery_loses_neither_change(service, mdm) -> None:
    customers, publisher = service
    code = f"HCP-{uuid.uuid4().hex[:6]}"
    batch = [mdm.upsert(code, 1, 0, first_name="Ana", last_name="Pop")]
    await customers.ingest_mdm(batch)
    mdm_events = publisher.take()
    customer_id = (await customers.store.customers.find_one({"mdm_code": code}))["_id"]

    edited = await customers.edit(
        customer_id, {"middle_name": "Maria"}, 1, Identity(user="ana", role="rep")
    )
    assert edited.version == 2
    http_events = publisher.take()
    assert [(t, v) for t, _, v in http_events] == [("cdp.customer.CustomerUpdated", 2)]
    doc = await customers.store.customers.find_one({"_id": customer_id})
    assert doc[consumer_slot.FIELD][MDM_INGEST]["inputs"] == [input_id(batch[0])]
    assert doc.get(outbox.FIELD, []) == [], "the edit's own outbox was cleared after publishing"

    await customers.ingest_mdm(batch)  # redelivered after the edit
    assert publisher.take() == mdm_events, "the MDM change's events go out again"
    after = await customers.store.customers.find_one({"_id": customer_id})
    assert after["version"] == 2 and after["middle_name"] == "Maria", "the edit stays"


async def test_the_same_event_published_twice_is_a_duplicate_not_a_redelivery(service, mdm) -> None:
    customers, publisher = service
    code = f"HCP-{uuid.uuid4().hex[:6]}"
    first = mdm.upsert(code, 1, 0, first_name="Ana")
    await customers.ingest_mdm([first])
    publisher.take()
    again = decode_record(MDM_CUSTOMERS, dataclasses.replace(first.record, offset=7))
    assert isinstance(again, Delivery) and again.envelope.id == first.envelope.id
    await customers.ingest_mdm([again])
    assert publisher.take() == [], "a later record with the same event changes nothing"


async def test_an_older_version_behind_a_newer_one_in_a_batch_is_ignored(service, mdm) -> None:
    """Kafka's order per MDM code is the master's: a version not newer than the last one
    applied changes nothing and publishes nothing, wherever it sits in the batch."""
    customers, publisher = service
    code = f"HCP-{uuid.uuid4().hex[:6]}"
    batch = [mdm.upsert(code, 2, 0, first_name="Anna"), mdm.upsert(code, 1, 1, first_name="Ana")]
    assert await customers.ingest_mdm(batch) == []
    assert [(t, v) for t, _, v in publisher.take()] == [("cdp.customer.CustomerRegistered", 1)]
    doc = await customers.store.customers.find_one({"mdm_code": code})
    assert (doc["first_name"], doc["mdm_version"], doc["version"]) == ("Anna", 2, 1)

    late = [
        mdm.upsert(code, 4, 2, first_name="Anka"),
        mdm.upsert(code, 3, 3, first_name="Ann"),
        mdm.deactivate(code, 3, 4),
    ]
    assert await customers.ingest_mdm(late) == []
    assert [(t, v) for t, _, v in publisher.take()] == [("cdp.customer.CustomerUpdated", 2)]
    doc = await customers.store.customers.find_one({"mdm_code": code})
    assert (doc["first_name"], doc["status"], doc["mdm_version"]) == ("Anka", "active", 4)
