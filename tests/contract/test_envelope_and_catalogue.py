"""Our CloudEvents codec against the CloudEvents SDK, both directions, and the catalogue's own
consistency. Enterprise systems publish with any SDK; this proves they can."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event, to_binary_event
from cloudevents.core.v1.event import CloudEvent
from contracts.envelope import Envelope, EnvelopeError, decode
from contracts.mdm import MdmCustomerUpserted
from contracts.topics import CATALOGUE, physical_topics


def test_sdk_written_event_decodes_with_our_codec() -> None:
    event = CloudEvent(
        attributes={
            "type": "cdp.mdm.CustomerUpserted",
            "source": "erp/hub",
            "id": "evt-1",
            "subject": "MDM-1",
            "time": datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
            "datacontenttype": "application/json",
            "correlationid": "corr-9",
        },
        data={"mdm_code": "MDM-1", "version": 3, "record": {"last_name": "Pop"}},
    )
    message = to_binary_event(event)
    envelope = decode(list(message.headers.items()), message.value)
    assert (envelope.id, envelope.type, envelope.subject) == ("evt-1", event.get_type(), "MDM-1")
    assert envelope.correlation_id == "corr-9"
    assert envelope.time == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    upsert = MdmCustomerUpserted.from_envelope(envelope)
    assert upsert.version == 3 and upsert.record.last_name == "Pop"


def test_our_event_decodes_with_the_sdk() -> None:
    envelope = Envelope(
        type="cdp.test.Happened",
        source="cdp/test",
        data={"a": 1},
        subject="c-1",
        dataschema="urn:cdp:schema:cdp.test.Happened:1",
        correlation_id="corr",
        causation_id="cause",
    )
    message = KafkaMessage(headers=dict(envelope.headers()), key=b"c-1", value=envelope.body())
    event = from_binary_event(message)
    assert event.get_id() == envelope.id and event.get_type() == "cdp.test.Happened"
    assert event.get_subject() == "c-1" and event.get_data() == {"a": 1}
    assert event.get_extension("correlationid") == "corr"
    assert event.get_extension("causationid") == "cause"
    assert event.get_datacontenttype() == "application/json"
    names = {name for name, _ in envelope.headers()}
    assert all(n == "content-type" or (n.startswith("ce_") and n[3:].isalnum()) for n in names)


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ([], b"{}", "missing CloudEvents header"),
        (
            [("ce_specversion", b"0.3"), ("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"t")],
            b"{}",
            "unsupported ce_specversion",
        ),
        (
            [("ce_specversion", b"1.0"), ("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"t")],
            b"[1]",
            "JSON object",
        ),
        (
            [("ce_specversion", b"1.0"), ("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"t")],
            b"{nope",
            "not JSON",
        ),
        (
            [
                ("ce_specversion", b"1.0"),
                ("ce_id", b"1"),
                ("ce_source", b"s"),
                ("ce_type", b"t"),
                ("content-type", b"application/xml"),
            ],
            b"{}",
            "content-type",
        ),
        (
            [
                ("ce_specversion", b"1.0"),
                ("ce_id", b"1"),
                ("ce_source", b"s"),
                ("ce_type", b"t"),
                ("ce_time", b"yesterday"),
            ],
            b"{}",
            "ce_time",
        ),
    ],
)
def test_undecodable_records_say_why(headers, body, reason) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        decode(headers, body)


def test_catalogue_is_consistent() -> None:
    types = [event.TYPE for topic in CATALOGUE for event in topic.events]
    assert len(types) == len(set(types)), "an event type belongs to one topic"
    names = [t.name for t in physical_topics()]
    assert len(names) == len(set(names))
    assert all(f"{t.name}.dlt" in names for t in CATALOGUE if t.consumed)


def test_event_models_ignore_unknown_fields() -> None:
    upsert = MdmCustomerUpserted.model_validate(
        {"mdm_code": "M-1", "version": 1, "record": {}, "added_later": True}
    )
    assert not hasattr(upsert, "added_later")


def test_nested_event_fields_ignore_unknown_fields_too() -> None:
    upsert = MdmCustomerUpserted.model_validate(
        {
            "mdm_code": "M-1",
            "version": 1,
            "record": {
                "last_name": "Pop",
                "new_master_field": 1,
                "addresses": [{"line1": "x", "geo": {"lat": 1}}],
            },
        }
    )
    assert upsert.record.last_name == "Pop"
    assert upsert.record.addresses[0].line1 == "x"


def test_api_input_rejects_unknown_fields_at_every_level() -> None:
    from contracts.customers import CustomerCreate
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        CustomerCreate.model_validate(
            {"last_name": "Pop", "email": "p@example.org", "addresses": [{"line1": "x", "geo": 1}]}
        )
    assert caught.value.errors()[0]["loc"] == ("addresses", 0, "geo")


def test_an_assignment_to_no_segment_survives_the_wire() -> None:
    """Envelopes leave out None fields: a customer taken out of every segment must still decode
    (its segment absent means none), or the lists service dead-letters the change."""
    from contracts.segmentation_events import Assignment, SegmentsAssigned

    event = SegmentsAssigned(
        customer_id="c-1",
        revision=3,
        assignments=[Assignment(segmentation="cardio", segment=None, rule_version=1)],
        changed=["cardio"],
        cause="profile-edit",
    )
    envelope = event.envelope(source="test", subject="c-1")
    decoded = SegmentsAssigned.from_envelope(decode(envelope.headers(), envelope.body()))
    assert decoded.assignment("cardio") == event.assignment("cardio")
