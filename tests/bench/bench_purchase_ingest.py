"""Purchase ingest: N PurchaseMade events on ``commerce.purchases`` for M loyalty members (purchase
i is member i mod M's, so every member's history grows through the run), until every purchase
and the points it earned are stored, beside the raw legs measured in the same run:

- raw consume: a plain aiokafka consumer reads the N records;
- raw bulk upsert: the same N purchase documents upserted by order id in bulks of 1,000;
- pipeline: the loyalty service as a real process (batch consume, decode and validate each
  record, upsert purchases by order id, read them back, upsert one ledger entry per purchase,
  commit), timed from its start until both collections hold N documents.

The members are enrolled first (not timed) from CustomerRegistered events. Targets: pipeline
>= 70% of min(raw legs); the last tenth's rate >= 80% of the first tenth's (flat as histories
grow).

    uv run python tests/bench/bench_purchase_ingest.py [--events 100000] [--members 25000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

from benchkit import (
    Progress,
    customer_id,
    publish,
    raw_consume,
    registered,
    report,
    rss_mb,
    run_deployment,
    wait_count,
)
from devstack.servers import provide
from devstack.services import service_process, wait_ready
from pymongo import AsyncMongoClient, UpdateOne

BULK = 1_000


def purchase(members: int):
    def record(i: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        cid = customer_id(i % members)
        data = {
            "order_id": f"O-{i:08d}",
            "customer_id": cid,
            "lines": [
                {"product": "Shoes", "category": "Footwear", "quantity": 1, "amount": "59.90"},
                {"product": "Socks", "category": "Apparel", "quantity": 2, "amount": "9.80"},
            ],
            "currency": "EUR",
            "purchased_at": "2026-11-20T10:00:00Z",
            "store": f"S{i % 50}",
        }
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", uuid.uuid4().hex.encode()),
            ("ce_source", b"bench/pos"),
            ("ce_type", b"cdp.commerce.PurchaseMade"),
            ("content-type", b"application/json"),
        ]
        return cid.encode(), json.dumps(data).encode(), headers

    return record


async def raw_bulk_upsert(mongodb_url: str, database: str, events: int, members: int) -> float:
    client: AsyncMongoClient = AsyncMongoClient(mongodb_url)
    record = purchase(members)
    try:
        docs = client[database].purchases
        began = time.perf_counter()
        for start in range(0, events, BULK):
            ops = []
            for i in range(start, min(events, start + BULK)):
                data = json.loads(record(i)[1])
                order = data.pop("order_id")
                ops.append(UpdateOne({"_id": order}, {"$setOnInsert": data}, upsert=True))
            await docs.bulk_write(ops, ordered=False)
        return events / (time.perf_counter() - began)
    finally:
        await client.drop_database(database)
        await client.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=25_000)
    parser.add_argument("--log-dir", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, provide(Path(tmp)) as servers:
        deployment = await run_deployment(servers)
        bootstrap = servers.kafka_bootstrap_servers
        log_dir = args.log_dir or Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        ports = deployment.ports(fixed=False)
        env = deployment.env("loyalty", ports)
        mongo: AsyncMongoClient = AsyncMongoClient(servers.mongodb_url)
        db = mongo[f"{deployment.database_prefix}loyalty"]
        print(f"{args.events} purchases for {args.members} members, servers: {servers.origin}")

        process = service_process("loyalty", env, log_dir).start()
        try:
            await asyncio.to_thread(wait_ready, process, ports["loyalty"])
            await publish(
                bootstrap, deployment.topic_prefix + "customer.events", args.members, registered
            )
            await wait_count(db, "members", args.members, "members enrolled")
        finally:
            process.stop()

        topic = deployment.topic_prefix + "commerce.purchases"
        produced = await publish(bootstrap, topic, args.events, purchase(args.members))
        print(f"produced (outside producer, not timed in the ratio): {produced:8.0f} /s")
        consume = await raw_consume(bootstrap, topic, args.events)
        print(f"raw consume:                                  {consume:8.0f} /s")
        upsert = await raw_bulk_upsert(
            servers.mongodb_url, f"{deployment.database_prefix}raw", args.events, args.members
        )
        print(f"raw bulk upsert ({BULK} per bulk):            {upsert:8.0f} /s")

        process = service_process("loyalty", env, log_dir)
        began = time.perf_counter()
        progress = Progress(args.events)
        process.start()
        try:
            await asyncio.to_thread(wait_ready, process, ports["loyalty"])
            progress.begin()
            # a purchase is done when its points are in the ledger (written after the purchase)
            await wait_count(db, "ledger", args.events, "points entries", progress)
            await wait_count(db, "purchases", args.events, "purchases stored")
            rate = args.events / (time.perf_counter() - began)
            memory = rss_mb(process)
        finally:
            process.stop()
            await mongo.close()
        report(
            "pipeline (loyalty service, from its start)",
            rate,
            {"consume": consume, f"bulk upsert ({BULK} per bulk)": upsert},
            0.70,
            progress,
        )
        print(f"peak resident memory of loyalty: {memory:.0f} MB (target < 300 MB)")


if __name__ == "__main__":
    asyncio.run(main())
