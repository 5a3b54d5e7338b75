"""The Kafka clients the commands use: an admin client, and a consumer in no group that reads
offsets and records without committing anything."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from opskit.settings import OpsSettings


@contextlib.asynccontextmanager
async def admin(settings: OpsSettings) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers, client_id="cdp-ops"
    )
    await client.start()
    try:
        yield client
    finally:
        await client.close()


@contextlib.asynccontextmanager
async def reader(settings: OpsSettings) -> AsyncIterator[AIOKafkaConsumer]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id="cdp-ops",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def partitions(client: AIOKafkaAdminClient, topics: list[str]) -> list[TopicPartition]:
    """Every partition of ``topics`` (a topic that does not exist has none)."""
    described = await client.describe_topics(topics)
    return sorted(
        TopicPartition(t["topic"], p["partition"])
        for t in described
        if not t["error_code"]
        for p in t["partitions"]
    )
