"""MDM ingest: N upserts published by an outside producer, until all are stored and their events
published, beside the raw legs measured in the same run on the same servers.

- raw consume: a plain aiokafka consumer reads the N records (no decoding, no writes);
- raw bulk upsert: the same N documents upserted by ``_id`` in bulks of 1,000 (no Kafka);
- raw bulk upsert, indexed: the customer records the service stores for them (the domain's
  record with its search keys, built before the clock starts) upserted the same way into a
  collection with the service's own indexes: the database's ceiling for these records. Shown
  beside the target's ratio, not in its place;
- pipeline: the customer service as a real process (batch consume, decode and validate each
  record, fold per MDM code, conditional bulk upsert with the in-document outbox, publish each
  CustomerRegistered, clear the outbox, commit), timed from the process's start until every event
  is on ``customer.events``. The service also writes a history entry per event (its own consumer).

Target: pipeline >= 70% of min(raw consume, raw bulk upsert); the last tenth's rate >= 80% of
the first tenth's (flat as the customers collection grows).

    uv run python tests/bench/bench_mdm_ingest.py [--events 100000] [--partitions 12]

Uses KAFKA_BOOTSTRAP_SERVERS / MONGODB_URL if set, else starts the local servers in a temp folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from benchkit import (
    Progress,
    cpu_seconds,
    publish,
    raw_consume,
    report,
    run_deployment,
    server_pid,
)
from contracts.mdm import MdmCustomerUpserted
from customer import search
from customer.domain import apply_mdm
from customer.store import CustomerStore
from devstack.probes import partitions_of
from devstack.servers import provide
from devstack.services import Deployment, service_process, wait_ready
from pymongo import AsyncMongoClient, UpdateOne

BULK = 1_000


def mdm_record(i: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    code = f"HCP-{i:07d}"
    data = {
        "mdm_code": code,
        "version": 1,
        "record": {
            "kind": "person",
            "salutation": "Dr.",
            "first_name": f"First{i}",
            "last_name": f"Last{i % 5000}",
            "email": f"hcp{i}@example.org",
            "phone": "+40 21 555 0100",
            "addresses": [
                {
                    "line1": f"{i % 300} Main Street",
                    "city": "Cluj",
                    "postal_code": f"{400000 + i % 999}",
                    "country": "RO",
                    "brick": f"BR-{i % 400:03d}",
                    "primary": True,
                }
            ],
        },
    }
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", uuid.uuid4().hex.encode()),
        ("ce_source", b"bench/mdm"),
        ("ce_type", b"cdp.mdm.CustomerUpserted"),
        ("ce_time", b"2026-11-23T09:00:00Z"),
        ("content-type", b"application/json"),
    ]
    return code.encode(), json.dumps(data).encode(), headers


def plain_document(i: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(mdm_record(i)[1])
    return {"_id": data["mdm_code"], **data["record"], "mdm_code": data["mdm_code"], "version": 1}


def stored_record(i: int) -> dict[str, Any]:
    """The record the service stores for event ``i``, with its search keys."""
    event = MdmCustomerUpserted.model_validate(json.loads(mdm_record(i)[1]))
    record = apply_mdm(None, event, datetime.now(UTC), "mdm:bench").record
    return {**record, search.FIELD: search.search_keys(record)}


async def raw_bulk_upsert(mongodb_url: str, database: str, events: int, indexed: bool) -> float:
    client: AsyncMongoClient = AsyncMongoClient(mongodb_url)
    try:
        if indexed:
            await CustomerStore(client[database]).create_indexes()
        documents = [(stored_record if indexed else plain_document)(i) for i in range(events)]
        docs = client[database].customers
        began = time.perf_counter()
        for start in range(0, events, BULK):
            ops = [
                UpdateOne({"_id": d["_id"]}, {"$set": d}, upsert=True)
                for d in documents[start : start + BULK]
            ]
            await docs.bulk_write(ops, ordered=False)
        return events / (time.perf_counter() - began)
    finally:
        await client.drop_database(database)
        await client.close()


class Published:
    """How many records a topic holds, read by one consumer kept open for the run (a consumer
    started and stopped at every poll cost the machine more than the count)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)

    async def __aenter__(self) -> Published:
        self.partitions = await partitions_of(self.bootstrap, self.topic)
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def count(self) -> int:
        return sum((await self.consumer.end_offsets(self.partitions)).values())


async def pipeline(
    deployment: Deployment, log_dir: Path, events: int, database_pid: int | None
) -> tuple[float, float, Progress, dict[str, float]]:
    """Events/s from the process's start, the start-up time until /ready, its progress, and the
    CPU seconds the service and the database server spent from /ready until the end."""
    bootstrap = deployment.servers.kafka_bootstrap_servers
    out_topic = deployment.topic_prefix + "customer.events"
    ports = deployment.ports(fixed=False)
    process = service_process("customer", deployment.env("customer", ports), log_dir)
    began = time.perf_counter()
    progress = Progress(events)
    process.start()
    try:
        await asyncio.to_thread(wait_ready, process, ports["customer"])
        ready = time.perf_counter() - began
        progress.begin()
        cpu_began = {"service": cpu_seconds(process.pid)}
        if database_pid is not None:
            cpu_began["database"] = cpu_seconds(database_pid)
        last_report = 0.0
        async with Published(bootstrap, out_topic) as published:
            while (done := await published.count()) < events:
                progress.record(done)
                if not process.alive():
                    raise RuntimeError(f"the customer service died; see {process.log_path}")
                if time.perf_counter() - last_report > 10:
                    last_report = time.perf_counter()
                    print(f"  ... {done} of {events} published", flush=True)
                await asyncio.sleep(0.2)
        progress.record(done)
        elapsed = time.perf_counter() - began
        cpu = {"service": cpu_seconds(process.pid) - cpu_began["service"]}
        if database_pid is not None:
            cpu["database"] = cpu_seconds(database_pid) - cpu_began["database"]
    finally:
        process.stop()
    return events / elapsed, ready, progress, cpu


async def stored(deployment: Deployment, events: int) -> int:
    client: AsyncMongoClient = AsyncMongoClient(deployment.servers.mongodb_url)
    try:
        return await client[f"{deployment.database_prefix}customer"].customers.count_documents({})
    finally:
        await client.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--log-dir", type=Path, help="keep the service's log here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, provide(Path(tmp)) as servers:
        deployment = await run_deployment(servers, partitions=args.partitions)
        bootstrap = servers.kafka_bootstrap_servers
        topic = deployment.topic_prefix + "mdm.customers"
        print(f"{args.events} MDM upserts, {args.partitions} partitions, servers: {servers.origin}")
        produced = await publish(bootstrap, topic, args.events, mdm_record)
        print(f"produced (outside producer, not timed in the ratio): {produced:8.0f} /s")
        consume = await raw_consume(bootstrap, topic, args.events)
        print(f"raw consume:                                  {consume:8.0f} /s")
        upsert = await raw_bulk_upsert(
            servers.mongodb_url, f"{deployment.database_prefix}raw", args.events, indexed=False
        )
        print(f"raw bulk upsert ({BULK} per bulk):            {upsert:8.0f} /s")
        indexed = await raw_bulk_upsert(
            servers.mongodb_url, f"{deployment.database_prefix}rawidx", args.events, indexed=True
        )
        print(f"raw bulk upsert, service records, its indexes: {indexed:8.0f} /s")
        log_dir = args.log_dir or Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        database_pid = server_pid(f"{tmp}/mongo/") if servers.origin == "local" else None
        rate, ready, progress, cpu = await pipeline(deployment, log_dir, args.events, database_pid)
        count = await stored(deployment, args.events)
        report(
            "pipeline (customer service, from its start)",
            rate,
            {"consume": consume, f"bulk upsert ({BULK} per bulk)": upsert},
            0.70,
            progress,
        )
        print(
            f"  beside the raw upsert of the service's own records into its indexed collection"
            f" ({indexed:,.0f} /s): {rate / indexed:.0%}"
        )
        print(f"  service start-up until /ready: {ready:.1f} s; customers stored: {count}")
        print("  rate of each tenth: " + ", ".join(f"{r:,.0f}" for r in progress.every_tenth()))
        print(
            "  CPU an event from /ready to the end (its history consumer included): "
            + ", ".join(f"{who} {1000 * s / args.events:.2f} ms" for who, s in cpu.items())
        )


if __name__ == "__main__":
    asyncio.run(main())
