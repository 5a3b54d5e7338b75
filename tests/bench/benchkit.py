"""What the benchmarks share: customer events as the customer service writes them, a fast
producer, a raw consume baseline, counting without scanning, resident memory, and the report
every benchmark prints: its figure beside the raw legs measured in the same run, and the rate of
the run's last tenth beside its first tenth (a flat cost as the data grows)."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from contracts.customer_events import CustomerRegistered
from contracts.customers import Address, Customer
from devstack.probes import partitions_of
from devstack.process import ServerProcess
from devstack.servers import Servers
from devstack.services import Deployment
from devstack.topics import create_topics

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


class Progress:
    """How far a run got over time (samples of a count), to compare the rate of its first tenth
    with its last: a cost that grows with the data stored shows as a falling last tenth."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.began = time.perf_counter()
        self.started = 0.0
        self.samples: list[tuple[float, int]] = [(0.0, 0)]

    def begin(self) -> None:
        """Work begins now (e.g. the service is ready): the first tenth is timed from here."""
        self.started = time.perf_counter() - self.began

    def record(self, count: int) -> None:
        self.samples.append((time.perf_counter() - self.began, min(count, self.total)))

    def tenths(self) -> tuple[float, float]:
        """Rates (per second) of the first and the last tenth of the total. Work arrives in
        steps (a batch at a time), so each step is spread over the time since the step before
        it; the first tenth is timed from ``begin`` (a service's start-up is not part of the
        cost)."""
        rates = self.every_tenth()
        return rates[0], rates[-1]

    def every_tenth(self) -> list[float]:
        """The rate of each tenth in turn (where a run slows down, not only whether)."""
        points = [(self.started, 0)]
        for t, c in self.samples:
            if c > points[-1][1]:
                points.append((t, c))

        def when(count: float) -> float:
            for (t0, c0), (t1, c1) in itertools.pairwise(points):
                if c1 >= count:
                    return t0 + (t1 - t0) * (count - c0) / (c1 - c0)
            return points[-1][0]

        tenth = self.total / 10
        times = [points[0][0], *(when(tenth * k) for k in range(1, 11))]
        return [tenth / max(b - a, 1e-9) for a, b in itertools.pairwise(times)]


def cpu_seconds(pid: int) -> float:
    """The user and system CPU a process has used so far (Linux: /proc/<pid>/stat), which, unlike
    a rate, hardly moves when other work shares the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid(marker: str) -> int | None:
    """The process whose command line holds ``marker`` (e.g. a local server's folder)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                return int(entry.name)
        except OSError:
            continue
    return None


def verdict(value: float, target: float) -> str:
    return "met" if value >= target else "missed"


def report(
    what: str,
    rate: float,
    raw: dict[str, float],
    target: float,
    progress: Progress | None = None,
    unit: str = "/s",
) -> None:
    """Print the figure beside the raw legs of the same run, the ratio to the slowest raw leg
    against its target, and the last tenth's rate against the first's (target >= 80%)."""
    print(f"{what}: {rate:,.0f} {unit}")
    for name, value in raw.items():
        print(f"  raw {name}: {value:,.0f} {unit}")
    if raw:
        ratio = rate / min(raw.values())
        print(
            f"  ratio to the slowest raw leg: {ratio:.0%} "
            f"(target >= {target:.0%}: {verdict(ratio, target)})"
        )
    if progress is not None:
        first, last = progress.tenths()
        flat = last / first
        print(
            f"  first tenth {first:,.0f} {unit}, last tenth {last:,.0f} {unit}: {flat:.0%} "
            f"(target >= 80%: {verdict(flat, 0.8)})"
        )


async def wait_count(
    db: Any, collection: str, count: int, what: str, progress: Progress | None = None
) -> float:
    """Seconds until the collection holds ``count`` documents (sampled into ``progress``).
    estimated_document_count asks for the size; count_documents would scan on the stand-in,
    slowing what it waits for."""
    began = time.perf_counter()
    last = 0.0
    while (n := await db[collection].estimated_document_count()) < count:
        if progress is not None:
            progress.record(n)
        if time.perf_counter() - last > 15:
            last = time.perf_counter()
            print(f"  ... {what}: {n} of {count}", flush=True)
        await asyncio.sleep(0.25)
    if progress is not None:
        progress.record(n)
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


def exit_cleanly_on_sigterm() -> None:
    """A benchmark stopped with SIGTERM still leaves through its ``finally`` blocks, which stop
    the servers and services it started (Python's default would end it on the spot)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


async def run_deployment(
    servers: Servers, jwt_secret: str | None = None, partitions: int | None = None
) -> Deployment:
    """This run's own topics (created), databases and consumer groups on the servers, so runs
    never collide."""
    run = f"b{uuid.uuid4().hex[:8]}"
    deployment = Deployment(
        servers,
        topic_prefix=f"{run}.",
        database_prefix=f"{run}_",
        consumer_group_prefix=f"{run}.",
        jwt_secret=jwt_secret,
    )
    extra = {} if partitions is None else {"partitions": partitions}
    await create_topics(servers.kafka_bootstrap_servers, deployment.topic_prefix, **extra)
    return deployment
