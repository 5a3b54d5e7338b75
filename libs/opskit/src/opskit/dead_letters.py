"""Dead-letter topics: what is in them and why, and re-driving records to their original topic.

A dead-letter record is the original record (key, bytes, headers) plus the headers
``servicekit.consuming.dead_letter`` adds: ``dlt_reason``, ``dlt_original_topic``,
``dlt_original_partition``, ``dlt_original_offset`` and ``dlt_consumer_group``. A re-drive
publishes the original key, bytes and headers again to the original topic (the same key lands
on the same partition), with ``cdp_redriven_from`` naming the dead letter; the dead letter itself
stays where it is (Kafka appends), so a second re-drive of the same record sends it again, which
the consumers drop as a duplicate (they apply each event once).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from contracts.topics import CATALOGUE, DEAD_LETTER_SUFFIX

from opskit.kafka import admin, partitions, reader
from opskit.settings import OpsSettings

DLT_HEADER_PREFIX = "dlt_"
REDRIVEN_FROM = "cdp_redriven_from"


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    timestamp: datetime
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str | None:
        found = next((v for n, v in self.headers if n == name), None)
        return found.decode(errors="replace") if found is not None else None

    @property
    def reason(self) -> str:
        return self.header("dlt_reason") or ""

    @property
    def original_topic(self) -> str | None:
        return self.header("dlt_original_topic")

    @property
    def original_position(self) -> str:
        """``partition/offset`` in the original topic."""
        return f"{self.header('dlt_original_partition')}/{self.header('dlt_original_offset')}"

    @property
    def ce_type(self) -> str | None:
        return self.header("ce_type")

    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(n, v) for n, v in self.headers if not n.startswith(DLT_HEADER_PREFIX)]


def dead_letter_topics(settings: OpsSettings, names: Iterable[str] = ()) -> list[str]:
    """The physical dead-letter topics: every consumed topic's, or those of ``names`` (a topic
    or its dead-letter twin, as the catalogue names them)."""
    wanted = [n.removesuffix(DEAD_LETTER_SUFFIX) for n in names]
    known = {t.name: t for t in CATALOGUE if t.consumed}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(
            f"no dead-letter topic for {', '.join(unknown)}; one of {', '.join(sorted(known))}"
        )
    return [settings.topic(known[n].dead_letter) for n in (wanted or list(known))]


async def read(settings: OpsSettings, names: Iterable[str] = ()) -> list[DeadLetter]:
    """Every record in the dead-letter topics (up to their ends when the call started)."""
    topics = dead_letter_topics(settings, names)
    letters: list[DeadLetter] = []
    async with admin(settings) as client, reader(settings) as consumer:
        tps = await partitions(client, topics)
        if not tps:
            return []
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        remaining = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batch.items():
                for r in records:
                    if r.offset < ends[tp]:
                        letters.append(
                            DeadLetter(
                                topic=r.topic,
                                partition=r.partition,
                                offset=r.offset,
                                timestamp=datetime.fromtimestamp(r.timestamp / 1000, UTC),
                                key=r.key,
                                value=r.value,
                                headers=tuple(r.headers or ()),
                            )
                        )
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
    return sorted(letters, key=lambda d: (d.topic, d.partition, d.offset))


def select(
    letters: Sequence[DeadLetter],
    *,
    offsets: Iterable[int] = (),
    reason: str | None = None,
    every: bool = False,
) -> list[DeadLetter]:
    """The dead letters a re-drive takes: all of them, those at ``offsets``, or those whose
    reason contains ``reason`` (case-insensitive)."""
    wanted = set(offsets)
    if not (every or wanted or reason):
        raise ValueError("say which records: offsets, a reason to match, or all")
    needle = (reason or "").casefold()
    return [
        d
        for d in letters
        if every or d.offset in wanted or (needle and needle in d.reason.casefold())
    ]


async def redrive(settings: OpsSettings, letters: Sequence[DeadLetter]) -> list[DeadLetter]:
    """Publish each dead letter's original record to its original topic (acks=all, idempotent),
    in the order given; returns those sent (a record that names no original topic is not)."""
    sendable = [d for d in letters if d.original_topic]
    if not sendable:
        return []
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id="cdp-ops",
        acks="all",
        enable_idempotence=True,
    )
    await producer.start()
    try:
        futures = [
            await producer.send(
                d.original_topic,  # type: ignore[arg-type]
                value=d.value,
                key=d.key,
                headers=[
                    *d.original_headers(),
                    (REDRIVEN_FROM, f"{d.topic}/{d.partition}/{d.offset}".encode()),
                ],
            )
            for d in sendable
        ]
        for future in futures:
            await future
    finally:
        await producer.stop()
    return sendable
