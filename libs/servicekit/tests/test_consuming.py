"""A record that keeps failing is isolated and dead-lettered; an outage is waited out."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from contracts.envelope import Envelope
from contracts.topics import MDM_CUSTOMERS
from pymongo.errors import AutoReconnect, DuplicateKeyError, ServerSelectionTimeoutError
from servicekit.consuming import (
    RECORD_ATTEMPTS,
    Delivery,
    Rejection,
    decode_record,
    handle_isolating,
    process_batch,
)
from servicekit.messaging import OutgoingRecord
from servicekit.outages import is_outage
from servicekit.settings import ServiceSettings


def delivery(offset: int, code: str) -> Delivery:
    envelope = Envelope(
        type="cdp.mdm.CustomerUpserted",
        source="erp",
        data={"mdm_code": code, "version": 1, "record": {}},
    )
    record = ConsumerRecord(
        "mdm.customers",
        0,
        offset,
        0,
        0,
        code.encode(),
        envelope.body(),
        None,
        0,
        0,
        envelope.headers(),
    )
    decoded = decode_record(MDM_CUSTOMERS, record)
    assert isinstance(decoded, Delivery)
    return decoded


class Handler:
    """Applies codes in order; fails on every batch that holds the poison code."""

    def __init__(self, poison: str, error: Exception) -> None:
        self.poison = poison
        self.error = error
        self.applied: list[str] = []
        self.calls_with_poison_alone = 0

    async def __call__(self, deliveries: Sequence[Delivery]) -> list[Rejection]:
        codes = [d.event.mdm_code for d in deliveries]  # type: ignore[attr-defined]
        if self.poison in codes:
            if len(codes) == 1:
                self.calls_with_poison_alone += 1
            raise self.error
        self.applied.extend(c for c in codes if c not in self.applied)  # idempotent
        return []


async def test_a_record_that_keeps_failing_is_dead_lettered_and_the_rest_applied() -> None:
    batch = [delivery(i, f"M-{i}") for i in range(9)]
    handler = Handler("M-5", ValueError("a value the domain cannot handle"))
    rejected = await handle_isolating(handler, batch, pause=0)
    assert [r.record.offset for r in rejected] == [5]
    assert (
        f"failed {RECORD_ATTEMPTS} times" in rejected[0].reason
        and "ValueError" in rejected[0].reason
    )
    assert handler.calls_with_poison_alone == RECORD_ATTEMPTS
    assert handler.applied == [f"M-{i}" for i in range(9) if i != 5]  # in order, once each


async def test_an_outage_is_raised_without_dead_lettering_anything() -> None:
    handler = Handler("M-2", AutoReconnect("connection refused"))
    with pytest.raises(AutoReconnect):
        await handle_isolating(handler, [delivery(i, f"M-{i}") for i in range(4)], pause=0)
    assert handler.calls_with_poison_alone == 0  # not narrowed down: the server is away


class Publisher:
    def __init__(self) -> None:
        self.published: list[OutgoingRecord] = []

    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        self.published.extend(records)


async def test_the_dead_letter_names_the_error_and_keeps_the_record() -> None:
    publisher = Publisher()
    settings = ServiceSettings(env="dev", service_name="customer", topic_prefix="t.")
    batch = [delivery(i, f"M-{i}") for i in range(3)]
    handler = Handler("M-1", KeyError("a bug"))
    await process_batch(
        [d.record for d in batch],
        {"mdm.customers": MDM_CUSTOMERS},
        handler,
        publisher,  # type: ignore[arg-type]
        settings,
        "t.customer-mdm-ingest",
    )
    [dlt] = publisher.published
    assert dlt.topic == "t.mdm.customers.dlt" and dlt.key == b"M-1"
    reason = dict(dlt.headers)["dlt_reason"].decode()
    assert "KeyError" in reason and handler.applied == ["M-0", "M-2"]


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (AutoReconnect("x"), True),
        (ServerSelectionTimeoutError("x"), True),
        (KafkaConnectionError("x"), True),
        (KafkaTimeoutError("x"), True),
        (TimeoutError(), True),
        (ValueError("x"), False),
        (KeyError("x"), False),
        (DuplicateKeyError("x"), False),
    ],
)
def test_outages_are_told_from_a_records_fault(error: Exception, outage: bool) -> None:
    assert is_outage(error) is outage
    try:
        raise RuntimeError("wrapped") from error
    except RuntimeError as wrapped:
        assert is_outage(wrapped) is outage
