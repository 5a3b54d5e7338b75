"""The service's Kafka clients: one FastStream broker that consumes, one idempotent producer.

Publishing goes through :class:`Publisher` (aiokafka, acks=all, idempotence on) rather than the
broker: dead letters must keep the original header bytes, and the outbox relay needs one delivery
future per record so every record keeps its own key and partition (``publish_batch`` would send a
whole batch to one partition and break per-key order).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from contracts.envelope import Envelope
from faststream.kafka import KafkaBroker

from servicekit import metrics
from servicekit.logging import library_logger
from servicekit.settings import ServiceSettings


def make_broker(settings: ServiceSettings) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        consumer_only=True,
        allow_auto_create_topics=False,
        graceful_timeout=15.0,
        # its per-message "Received"/"Processed" lines at DEBUG: below the logger's INFO
        logger=library_logger("faststream.kafka"),
        log_level=logging.DEBUG,
    )


@dataclass(frozen=True, slots=True)
class OutgoingRecord:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]

    @classmethod
    def of(cls, topic: str, key: str, envelope: Envelope) -> OutgoingRecord:
        return cls(topic, key.encode(), envelope.body(), envelope.headers())


class Publisher:
    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        # aiokafka binds to the running loop, so the producer is made here, not in __init__
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            client_id=f"{self._settings.service_name}-producer",
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            request_timeout_ms=30_000,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        """Send every record with its own key; return once the broker acknowledged all."""
        if not records:
            return
        if self._producer is None:
            raise RuntimeError("the publisher is not started")
        futures = [
            await self._producer.send(r.topic, value=r.value, key=r.key, headers=list(r.headers))
            for r in records
        ]
        await asyncio.gather(*futures)
        for record in records:
            metrics.EVENTS_PUBLISHED.labels(record.topic).inc()
