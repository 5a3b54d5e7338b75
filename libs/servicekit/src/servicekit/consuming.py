"""Batch consumers that commit only after the batch's effects are stored, and dead-letter what
they cannot apply.

Each record is decoded and validated on its own (a batch decoder that fails on one bad record
would fail the whole batch before the handler runs). Records that are not a known, valid event go
to ``<topic>.dlt`` with their original key, bytes and headers plus the error; the handler gets
the rest and returns the ones it rejects on domain grounds, which are dead-lettered too.

When the handler raises, :mod:`servicekit.outages` decides whose fault it is. An outage (the
database or Kafka away) commits nothing: every partition of the batch is rewound and the batch
tried again after a pause that doubles up to a limit. Anything else is narrowed down to the record
that causes it: the batch is split in halves, each handled in order (handlers are idempotent, so
a half that was applied before changes nothing), down to single records; a single record that
still fails is tried ``RECORD_ATTEMPTS`` times and then dead-lettered with the error, and the
records behind it are applied. Offsets are committed once per batch.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from aiokafka import ConsumerRecord
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from contracts.envelope import Envelope, EnvelopeError, decode
from contracts.events import Event
from contracts.topics import Topic
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from pydantic import ValidationError

from servicekit import faults, metrics
from servicekit import logging as cdp_logging
from servicekit.messaging import OutgoingRecord, Publisher
from servicekit.outages import is_outage
from servicekit.problems import validation_errors
from servicekit.settings import ServiceSettings

log = cdp_logging.get_logger(__name__)
RETRY_PAUSE_SECONDS = 1.0  # after an outage, doubling up to the maximum
MAX_RETRY_PAUSE_SECONDS = 30.0
RECORD_ATTEMPTS = 3  # tries of one record that fails on its own before it is dead-lettered
RECORD_RETRY_PAUSE_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class Delivery:
    """One decoded record: where it came from, its envelope and its validated event."""

    record: ConsumerRecord
    envelope: Envelope
    event: Event

    @property
    def key(self) -> str | None:
        return self.record.key.decode(errors="replace") if self.record.key else None


@dataclass(frozen=True, slots=True)
class Rejection:
    record: ConsumerRecord
    reason: str


BatchHandler = Callable[[Sequence[Delivery]], Awaitable[Sequence[Rejection]]]


def decode_record(topic: Topic, record: ConsumerRecord) -> Delivery | Rejection:
    try:
        # the body stays bytes: the event model parses and validates it in one pass
        envelope = decode(record.headers, record.value, parse_data=False)
    except EnvelopeError as exc:
        return Rejection(record, f"envelope: {exc}")
    model = topic.event_model(envelope.type)
    if model is None:
        return Rejection(record, f"unknown event type {envelope.type!r} on {topic.name}")
    try:
        event = model.from_envelope(envelope)
    except ValidationError as exc:
        fields = "; ".join(
            f"{e['field']}: {e['message']}" if e["field"] else e["message"]  # e.g. Invalid JSON
            for e in validation_errors(list(exc.errors()))
        )
        return Rejection(record, f"invalid {envelope.type}: {fields}")
    return Delivery(record, envelope, event)


def dead_letter(record: ConsumerRecord, reason: str, dlt_topic: str, group: str) -> OutgoingRecord:
    headers = list(record.headers or ())
    headers += [
        ("dlt_reason", reason.encode()[:4000]),
        ("dlt_original_topic", record.topic.encode()),
        ("dlt_original_partition", str(record.partition).encode()),
        ("dlt_original_offset", str(record.offset).encode()),
        ("dlt_consumer_group", group.encode()),
    ]
    return OutgoingRecord(dlt_topic, record.key, record.value, headers)


async def _raw(message: Any) -> Any:
    """Leave the bodies alone: decoding is per record, in :func:`decode_record`."""
    return None


async def handle_isolating(
    handler: BatchHandler,
    deliveries: Sequence[Delivery],
    pause: float = RECORD_RETRY_PAUSE_SECONDS,
) -> list[Rejection]:
    """The handler's rejections for ``deliveries``; a record whose handling keeps failing (not
    an outage: that is raised) is split off and, after ``RECORD_ATTEMPTS`` tries, rejected with
    the error. Order is kept: the first half is handled before the second."""
    try:
        return list(await handler(deliveries))
    except Exception as exc:
        if is_outage(exc):
            raise
        if len(deliveries) > 1:
            middle = len(deliveries) // 2
            first = await handle_isolating(handler, deliveries[:middle], pause)
            return first + await handle_isolating(handler, deliveries[middle:], pause)
        error = exc
    for _ in range(RECORD_ATTEMPTS - 1):
        await asyncio.sleep(pause)
        try:
            return list(await handler(deliveries))
        except Exception as exc:
            if is_outage(exc):
                raise
            error = exc
    record = deliveries[0].record
    log.error(
        "a record keeps failing; dead-lettering it",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        error=repr(error),
        trace="".join(traceback.format_exception(error, limit=5)),
    )
    return [Rejection(record, f"handler failed {RECORD_ATTEMPTS} times: {error!r}")]


async def process_batch(
    records: Sequence[ConsumerRecord],
    topics: dict[str, Topic],
    handler: BatchHandler,
    publisher: Publisher,
    settings: ServiceSettings,
    group_id: str,
) -> None:
    """Decode, handle and dead-letter one batch; raises only for an outage (nothing committed)."""
    decoded = [decode_record(topics[r.topic], r) for r in records]
    deliveries = [d for d in decoded if isinstance(d, Delivery)]
    rejected = [d for d in decoded if isinstance(d, Rejection)]
    if deliveries:
        rejected += await handle_isolating(handler, deliveries)
    if rejected:
        await publisher.publish(
            [
                dead_letter(
                    r.record,
                    r.reason,
                    settings.topic(topics[r.record.topic].dead_letter),
                    group_id,
                )
                for r in rejected
            ]
        )
        for r in rejected:
            metrics.EVENTS_DEAD_LETTERED.labels(r.record.topic).inc()
            log.warning(
                "dead-lettered a record",
                topic=r.record.topic,
                partition=r.record.partition,
                offset=r.record.offset,
                reason=r.reason,
            )


def subscribe_batch(
    broker: KafkaBroker,
    publisher: Publisher,
    settings: ServiceSettings,
    topic: Topic | Sequence[Topic],
    group: str,
    handler: BatchHandler,
) -> None:
    """Register a batch subscriber for ``topic`` (or several, co-partitioned) in consumer group
    ``group``."""
    group_id = settings.group(group)
    topics = [topic] if isinstance(topic, Topic) else list(topic)
    by_name = {settings.topic(t.name): t for t in topics}
    pause = RETRY_PAUSE_SECONDS

    @broker.subscriber(
        *by_name,
        partition_assignment_strategy=(RangePartitionAssignor,),
        group_id=group_id,
        batch=True,
        max_records=settings.consumer_max_records,
        batch_timeout_ms=20,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        decoder=_raw,
        title=f"{group}:{'+'.join(t.name for t in topics)}",
    )
    async def consume(body: Any, message: KafkaMessage) -> None:
        nonlocal pause
        records: tuple[ConsumerRecord, ...] = message.raw_message  # type: ignore[assignment]
        metrics.BATCH_RECORDS.labels(group_id).observe(len(records))
        try:
            with metrics.BATCH_SECONDS.labels(group_id).time():
                await process_batch(records, by_name, handler, publisher, settings, group_id)
        except Exception as exc:
            metrics.BATCHES.labels(group_id, "rewound").inc()
            log.error(
                "batch failed (an outage); rewinding to retry",
                topics=list(by_name),
                records=len(records),
                pause_seconds=pause,
                error=repr(exc),
                trace=traceback.format_exc(limit=5),
            )
            await message.nack()
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_RETRY_PAUSE_SECONDS)
            return
        pause = RETRY_PAUSE_SECONDS
        faults.crash_point(faults.BEFORE_COMMIT, group)
        await message.ack()
        metrics.BATCHES.labels(group_id, "processed").inc()
        if hasattr(message.consumer, "highwater"):  # not FastStream's in-memory test consumer
            metrics.observe_lag(group_id, cast(metrics.Highwaters, message.consumer), records)
