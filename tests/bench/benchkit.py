"""What the benchmarks share: customer events as the customer service writes them, a fast
producer, a raw consume baseline, counting without scanning, and resident memory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from contracts.customer_events import CustomerRegistered
from contracts.customers import Address, Customer
from devstack.probes import partitions_of
from devstack.process import ServerProcess

Record = tuple[bytes, bytes, list[tuple[str, bytes]]]
BRICKS = 400


def customer_id(i: int) -> str:
    return f"c{i:07d}"


def registered(i: int) -> Record:
    """CustomerRegistered for customer ``i``, keyed and encoded as the customer service does."""
    now = datetime.now(UTC)
    customer = Customer(
        id=customer_id(i),
        version=1,
        kind="person",
        first_name=f"First{i}",
        last_name=f"Last{i % 5000}",
        mdm_code=f"HCP-{i:07d}",
        addresses=[Address(line1=f"{i} Main St", brick=f"BR-{i % BRICKS:03d}", primary=True)],
        created_at=now,
        updated_at=now,
    )
    envelope = CustomerRegistered(customer=customer, origin="mdm").envelope(
        source="bench/customer", subject=customer.id
    )
    return customer.id.encode(), envelope.body(), list(envelope.headers())


async def publish(bootstrap: str, topic: str, count: int, record: Callable[[int], Record]) -> float:
    """Publish ``record(i)`` for i < count (acks=all, idempotent); returns records/s."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    began = time.perf_counter()
    try:
        for start in range(0, count, 5_000):
            futures = []
            for i in range(start, min(count, start + 5_000)):
                key, value, headers = record(i)
                futures.append(await producer.send(topic, value, key=key, headers=headers))
            await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return count / (time.perf_counter() - began)


async def raw_consume(bootstrap: str, topic: str, count: int) -> float:
    """Records/s of a plain consumer reading ``count`` records (no decoding, no writes)."""
    partitions = await partitions_of(bootstrap, topic)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, max_partition_fetch_bytes=4 << 20
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        began, seen = time.perf_counter(), 0
        while seen < count:
            batch = await consumer.getmany(timeout_ms=500, max_records=2_000)
            seen += sum(len(records) for records in batch.values())
        return count / (time.perf_counter() - began)
    finally:
        await consumer.stop()


async def wait_count(db: Any, collection: str, count: int, what: str) -> float:
    """Seconds until the collection holds ``count`` documents. estimated_document_count asks for
    the size; count_documents would scan on the stand-in, slowing what it waits for."""
    began = time.perf_counter()
    last = 0.0
    while (n := await db[collection].estimated_document_count()) < count:
        if time.perf_counter() - last > 15:
            last = time.perf_counter()
            print(f"  ... {what}: {n} of {count}", flush=True)
        await asyncio.sleep(0.25)
    return time.perf_counter() - began


def rss_mb(process: ServerProcess) -> float:
    """The process's peak resident memory."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(samples: list[float], q: float) -> float:
    """The q-quantile of samples in seconds, in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000
