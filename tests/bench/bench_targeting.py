"""Targeting: (a) change-to-list latency of single profile edits under a steady background load,
and (b) bulk recompute after a rule change over N customers, each beside a raw baseline measured
in the same run on the same servers.

Set-up (not timed): N CustomerRegistered events are published on ``customer.events`` as the
customer service would; the segmentation and lists services (real processes) build their
replicas from them. A team with a plan targets segment ``in`` of a latency segmentation.

(a) latency: a profile edit (PUT /profiles/...) that moves a customer in or out of the plan's
    list, timed from the request until the ListMembershipChanged event is read from
    ``lists.events``; meanwhile a background task edits other customers' profiles at a steady
    rate. Baseline: a raw Kafka round trip (produce with acks=all, then consume) on the same broker.
(b) recompute: a segmentation whose two segments split all N customers by brick; its rule change
    swaps them, so every customer changes segment: time from the PUT until the recompute job is
    done (every SegmentsAssigned event published), with the job's first and last tenth. Raw legs:
    the same N documents updated with raw bulk writes of 1,000, and N records of the assignments
    topic read by a plain consumer. Also: how long after the job ended the lists service caught
    up (its consumer group's lag on the assignments topic back to 0).

Targets: latency p99 < 200 ms; recompute >= 50% of the raw bulk update, 100k customers < 30 s;
last tenth >= 80% of the first; lists caught up <= 5 s after the job.

    uv run python tests/bench/bench_targeting.py [--customers 100000] [--edits 200] [--load 20]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from benchkit import (
    BRICKS,
    Progress,
    customer_id,
    pct,
    publish,
    raw_consume,
    registered,
    report,
    rss_mb,
    run_deployment,
    verdict,
    wait_count,
)
from devstack.probes import partitions_of
from devstack.servers import provide
from devstack.services import service_process, wait_ready
from pymongo import AsyncMongoClient, UpdateOne
from servicekit.auth import mint_token

BULK = 1_000
SECRET = "bench-secret-" + uuid.uuid4().hex


class Tail:
    """Reads ``lists.events`` from its end; resolves waiters on a customer's membership event."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        partitions = await partitions_of(self.bootstrap, self.topic)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await self.consumer.start()
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self.consumer.position(tp)
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=50)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    waiter = self.waiters.pop(record.key.decode(), None)
                    if waiter and not waiter.done():
                        waiter.set_result(now)

    def expect(self, cid: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters[cid] = future
        return future

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
        await self.consumer.stop()


async def until(check: Any, interval: float) -> None:
    """Poll ``check`` (an async callable) until it is true."""
    while True:
        if await check():
            return
        await asyncio.sleep(interval)


async def kafka_round_trip(bootstrap: str, topic: str, samples: int) -> list[float]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    tail = Tail(bootstrap, topic)
    await tail.start()
    times = []
    try:
        for i in range(samples):
            key = f"rt-{i}"
            waiter = tail.expect(key)
            began = time.perf_counter()
            await producer.send_and_wait(topic, b"{}", key=key.encode())
            times.append(await asyncio.wait_for(waiter, 10) - began)
    finally:
        await tail.stop()
        await producer.stop()
    return times


async def latency(
    client: httpx.AsyncClient, tail: Tail, seg: str, ids: list[str], edits: int, load: float
) -> list[float]:
    measured, background = ids[: len(ids) // 2], ids[len(ids) // 2 :]
    state = dict.fromkeys(ids, "out")
    stop = asyncio.Event()

    async def toggle(cid: str) -> None:
        state[cid] = "in" if state[cid] == "out" else "out"
        response = await client.put(
            f"/profiles/{cid}/{seg}", json={"values": {"level": state[cid]}}
        )
        response.raise_for_status()

    async def steady_load() -> None:
        i = 0
        while not stop.is_set():
            await toggle(background[i % len(background)])
            i += 1
            await asyncio.sleep(1 / load)

    loader = asyncio.create_task(steady_load())
    times = []
    try:
        for i in range(edits):
            cid = measured[i % len(measured)]
            waiter = tail.expect(cid)
            began = time.perf_counter()
            await toggle(cid)
            times.append(await asyncio.wait_for(waiter, 30) - began)
    finally:
        stop.set()
        await loader
    return times


def split(code: str, swap: bool) -> dict[str, Any]:
    low = [f"BR-{b:03d}" for b in range(BRICKS // 2)]
    first = {"field": "customer.addresses.brick", "op": "in", "value": low}
    other = {"not": first}
    rules = (other, first) if swap else (first, other)
    return {
        "code": code,
        "name": "Bulk split",
        "segments": [
            {"code": "west", "name": "West", "rule": rules[0]},
            {"code": "east", "name": "East", "rule": rules[1]},
        ],
    }


async def run_job(
    client: httpx.AsyncClient,
    code: str,
    answer: httpx.Response,
    progress: Progress | None = None,
) -> float:
    answer.raise_for_status()
    job = answer.json()["recompute"]
    while True:
        state = (await client.get(f"/segmentations/{code}/recomputes/{job['_id']}")).json()
        if progress is not None:
            progress.record(state["processed"])
        if state["state"] != "running":
            assert state["state"] == "done", state
            return state["changed"]
        await asyncio.sleep(0.1)


async def raw_bulk_update(db: Any, count: int) -> float:
    began = time.perf_counter()
    for start in range(0, count, BULK):
        ops = [
            UpdateOne(
                {"_id": customer_id(i)},
                {
                    "$set": {"segments.raw": {"segment": "east", "rule_version": 2}},
                    "$inc": {"revision": 1},
                },
            )
            for i in range(start, min(count, start + BULK))
        ]
        await db.customers.bulk_write(ops, ordered=False)
    return time.perf_counter() - began


async def lag(bootstrap: str, group: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        partitions = await partitions_of(bootstrap, topic)
        ends = await consumer.end_offsets(partitions)
        return sum(ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in ends)
    finally:
        await consumer.stop()
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--load", type=float, default=20.0, help="background edits per second")
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--log-dir", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, provide(Path(tmp)) as servers:
        deployment = await run_deployment(servers, SECRET, partitions=args.partitions)
        bootstrap = servers.kafka_bootstrap_servers
        log_dir = args.log_dir or Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        ports = deployment.ports(fixed=False)
        processes = {
            name: service_process(name, deployment.env(name, ports), log_dir).start()
            for name in ("segmentation", "lists")
        }
        mongo: AsyncMongoClient = AsyncMongoClient(servers.mongodb_url)
        token = mint_token(SECRET, "bench", "admin")
        headers = {"authorization": f"Bearer {token}"}
        try:
            for name, process in processes.items():
                await asyncio.to_thread(wait_ready, process, ports[name])
            seg_db = mongo[f"{deployment.database_prefix}segmentation"]
            lists_db = mongo[f"{deployment.database_prefix}lists"]
            n = args.customers
            print(f"{n} customers, {args.partitions} partitions, servers: {servers.origin}")
            began = time.perf_counter()
            await publish(bootstrap, deployment.topic_prefix + "customer.events", n, registered)
            await wait_count(seg_db, "customers", n, "segmentation replica")
            await wait_count(lists_db, "customers", n, "lists replica")
            print(
                f"set-up: both replicas hold {n} customers "
                f"after {time.perf_counter() - began:.0f} s"
            )

            seg_url = f"http://127.0.0.1:{ports['segmentation']}"
            lists_url = f"http://127.0.0.1:{ports['lists']}"
            async with (
                httpx.AsyncClient(base_url=seg_url, headers=headers, timeout=60) as seg,
                httpx.AsyncClient(base_url=lists_url, headers=headers, timeout=60) as lists,
            ):
                # (a) latency
                latency_seg = {
                    "code": "lat",
                    "name": "Latency",
                    "dimensions": [{"name": "level", "values": ["in", "out"]}],
                    "segments": [
                        {
                            "code": "in",
                            "name": "In",
                            "rule": {"field": "profile.level", "op": "eq", "value": "in"},
                        }
                    ],
                }
                await run_job(seg, "lat", await seg.post("/segmentations", json=latency_seg))
                lists_group = f"{deployment.consumer_group_prefix}lists-customers"
                assignments = deployment.topic_prefix + "segmentation.assignments"
                bricks = [f"BR-{b:03d}" for b in range(BRICKS)]
                (
                    await lists.post("/teams", json={"id": "t", "name": "T", "bricks": bricks})
                ).raise_for_status()
                (
                    await lists.post(
                        "/plans",
                        json={
                            "id": "p",
                            "team_id": "t",
                            "period": "2026-Q4",
                            "segmentations": ["lat"],
                            "targeted_segments": [{"segmentation": "lat", "segment": "in"}],
                        },
                    )
                ).raise_for_status()

                async def built() -> bool:
                    return "list_built_at" in (await lists.get("/plans/p")).json()

                async def lists_caught_up() -> bool:
                    return await lag(bootstrap, lists_group, assignments) == 0

                await until(built, 0.5)
                round_trips = await kafka_round_trip(
                    bootstrap, f"{deployment.topic_prefix}rt", args.edits
                )
                tail = Tail(bootstrap, deployment.topic_prefix + "lists.events")
                await tail.start()
                try:
                    ids = [customer_id(i) for i in range(0, min(n, 400))]
                    times = await latency(seg, tail, "lat", ids, args.edits, args.load)
                finally:
                    await tail.stop()
                print(
                    f"(a) profile edit -> list event, {args.edits} edits under "
                    f"{args.load:.0f} edits/s of background load: p50 {pct(times, 0.5):.0f} ms, "
                    f"p99 {pct(times, 0.99):.0f} ms (target p99 < 200 ms)"
                )
                print(
                    f"    raw Kafka round trip (acks=all): p50 {pct(round_trips, 0.5):.0f} ms, "
                    f"p99 {pct(round_trips, 0.99):.0f} ms"
                )

                # (b) bulk recompute
                changed = await run_job(
                    seg, "bulk", await seg.post("/segmentations", json=split("bulk", False))
                )
                print(f"    initial compute of the split segmentation: {changed:.0f} assigned")
                await until(lists_caught_up, 0.5)
                began = time.perf_counter()
                progress = Progress(n)
                answer = await seg.put(
                    "/segmentations/bulk", json=split("bulk", True), headers={"if-match": '"1"'}
                )
                changed = await run_job(seg, "bulk", answer, progress)
                elapsed = time.perf_counter() - began
                await until(lists_caught_up, 0.2)
                lists_after_job = time.perf_counter() - began - elapsed
                raw = await raw_bulk_update(seg_db, n)
                consume = await raw_consume(bootstrap, assignments, n)
                report(
                    f"(b) rule change -> {changed:.0f} customers reassessed and published in "
                    f"{elapsed:.1f} s (target: 100k in < 30 s)",
                    changed / elapsed,
                    {
                        f"bulk update of the same {n} documents ({BULK} per bulk)": n / raw,
                        "consume of the assignments topic": consume,
                    },
                    0.50,
                    progress,
                )
                print(
                    f"    lists service caught up {lists_after_job:.1f} s after the job ended "
                    f"(target <= 5 s: {verdict(5.0, lists_after_job)})"
                )
            for name, process in processes.items():
                print(f"peak resident memory of {name}: {rss_mb(process):.0f} MB (target < 300 MB)")
        finally:
            await mongo.close()
            for process in processes.values():
                process.stop()


if __name__ == "__main__":
    asyncio.run(main())
