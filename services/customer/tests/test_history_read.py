"""The history consumer reads only what an entry keeps of the service's own events, and the entry
is the one the whole event gives."""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from contracts.customer_events import CustomerChanged
from contracts.customers import CustomerCreate
from contracts.events import Event
from contracts.topics import CUSTOMER_EVENTS
from customer import domain
from customer.history import CUSTOMER_EVENTS_FOR_HISTORY, ChangeRead
from servicekit.consuming import Delivery, Rejection, decode_record

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def record(event: Event, value: bytes | None = None) -> ConsumerRecord:
    envelope = event.envelope(source="cdp/customer", subject="c-1")
    body = envelope.body() if value is None else value
    return ConsumerRecord(
        "customer.events", 0, 7, 0, 0, b"c-1", body, None, 0, len(body), envelope.headers()
    )


def test_an_entry_read_lean_equals_the_one_the_whole_event_gives() -> None:
    created = domain.register(
        CustomerCreate(first_name="Ana", last_name="Pop", email="ana@example.org"), NOW, "user:u"
    )
    edited = domain.edit(created.record, {"first_name": "Anna", "email": None}, NOW, "user:u")
    voided = domain.set_status(edited.record, "void", NOW, "user:u")
    for change in (created, edited, voided):
        raw = record(change.events[0])
        whole = decode_record(CUSTOMER_EVENTS, raw)
        lean = decode_record(CUSTOMER_EVENTS_FOR_HISTORY, raw)
        assert isinstance(whole, Delivery) and isinstance(lean, Delivery)
        assert isinstance(whole.event, CustomerChanged) and isinstance(lean.event, ChangeRead)
        name = whole.envelope.type.rsplit(".", 1)[-1]
        assert lean.event.entry(lean.envelope.id, name) == {
            "_id": whole.envelope.id,
            "customer_id": whole.event.customer.id,
            "version": whole.event.customer.version,
            "at": whole.event.customer.updated_at,
            "event": name,
            "origin": whole.event.origin,
            "changed_by": whole.event.changed_by,
            "changes": [c.model_dump(mode="json") for c in whole.event.changes],
        }


def test_an_event_the_history_cannot_read_is_rejected() -> None:
    created = domain.register(CustomerCreate(first_name="Ana", email="a@example.org"), NOW, "u")
    rejected = decode_record(
        CUSTOMER_EVENTS_FOR_HISTORY, record(created.events[0], b'{"customer": {"id": "c-1"}}')
    )
    assert isinstance(rejected, Rejection) and "customer.version" in rejected.reason
