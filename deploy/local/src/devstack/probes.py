"""What tests and benchmarks use to look at the system from outside: read a topic with a plain
aiokafka consumer (no group, no commits), and wait for a condition without fixed sleeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

T = TypeVar("T")


async def partitions_of(bootstrap_servers: str, topic: str) -> list[TopicPartition]:
    """The topic's partitions, asked of the broker now (a consumer's metadata may be older)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] != 0 or not described["partitions"]:
        raise AssertionError(f"topic {topic} does not exist (error {described['error_code']})")
    return [TopicPartition(topic, p["partition"]) for p in described["partitions"]]


async def read_topic(
    bootstrap_servers: str,
    topic: str,
    *,
    timeout: float = 10.0,
    until: Callable[[list[ConsumerRecord]], bool] | None = None,
) -> list[ConsumerRecord]:
    """Every record of ``topic`` from the beginning, until ``until(records)`` holds (or the end
    of every partition is reached when no condition is given, or ``timeout`` passes)."""
    partitions = await partitions_of(bootstrap_servers, topic)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for items in batch.values():
                records.extend(items)
            if until is not None:
                if until(records):
                    break
            elif all(await consumer.position(tp) >= ends[tp] for tp in partitions):
                break
        return records
    finally:
        await consumer.stop()


async def committed_past(
    bootstrap_servers: str, group: str, topic: str, partition: int, offset: int
) -> bool:
    """Whether consumer group ``group`` has committed beyond ``offset`` on that partition, i.e.
    stored the effect of that record (our consumers commit only after storing)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    position = offsets.get(TopicPartition(topic, partition))
    return position is not None and position.offset > offset


async def eventually(
    check: Callable[[], Awaitable[T | None]],
    *,
    timeout: float = 15.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


def header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode()
    return None
