"""The scale run: N customers by MDM events, then M purchases for them, on the whole platform.

Every service runs as a real process on the local servers (throwaway folders). The run publishes
N MDM upserts (400 bricks, so ~N/400 customers each), waits until the customer service stored
them and the loyalty service enrolled them, then publishes M purchases spread over those
customers and waits until loyalty stored them. For each phase it prints the rate of every tenth
(flat: the last tenth ≥ 80% of the first). Then, one client, `--reads` each, through the gateway:
the Customer 360 view, a search by email, by brick (first page of 50) and by name prefix, with
p50 and p99 (target p99 < 50 ms). Last: each service's peak resident memory (target < 300 MB)
and the database's size on disk.

    uv run python tests/bench/bench_scale.py [--customers 1000000] [--purchases 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from bench_mdm_ingest import mdm_record
from bench_purchase_ingest import purchase
from benchkit import (
    Progress,
    exit_cleanly_on_sigterm,
    pct,
    publish,
    report,
    rss_mb,
    run_deployment,
    wait_count,
)
from devstack.process import ServerProcess
from devstack.servers import provide
from devstack.services import BACKENDS, service_process, wait_ready
from pymongo import AsyncMongoClient
from servicekit.auth import mint_token

SECRET = "bench-secret-" + uuid.uuid4().hex
PAGE = 10_000


async def arrival(db: Any, collection: str, total: int, what: str) -> None:
    """Wait until ``collection`` holds ``total`` documents; print the rate and its tenths."""
    progress = Progress(total)
    progress.begin()
    seconds = await wait_count(db, collection, total, what, progress)
    report(what, total / seconds, {}, 0.0, progress)


async def customer_ids(db: Any) -> list[str]:
    """Every customer id, paged by _id (a deliberate whole read)."""
    ids: list[str] = []
    last = ""
    while True:
        page = (
            await db.customers.find({"_id": {"$gt": last}}, {"_id": 1})
            .sort("_id", 1)
            .limit(PAGE)
            .to_list()
        )
        if not page:
            return ids
        ids.extend(d["_id"] for d in page)
        last = ids[-1]


async def timed_reads(client: httpx.AsyncClient, reads: int, path: Any) -> list[float]:
    samples = []
    for i in range(reads):
        url = path(i)
        began = time.perf_counter()
        response = await client.get(url)
        samples.append(time.perf_counter() - began)
        response.raise_for_status()
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--log-dir", type=Path)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp, provide(Path(tmp)) as servers:
        deployment = await run_deployment(servers, SECRET)
        bootstrap = servers.kafka_bootstrap_servers
        log_dir = args.log_dir or Path(tmp) / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        ports = deployment.ports(fixed=False)
        processes: dict[str, ServerProcess] = {}
        mongo: AsyncMongoClient = AsyncMongoClient(servers.mongodb_url)
        customers_db = mongo[f"{deployment.database_prefix}customer"]
        loyalty_db = mongo[f"{deployment.database_prefix}loyalty"]
        print(f"scale run: {args.customers:,} customers, {args.purchases:,} purchases")
        try:
            for name in (*BACKENDS, "gateway"):
                env = deployment.env(name, ports)
                processes[name] = service_process(name, env, log_dir).start()
                await asyncio.to_thread(wait_ready, processes[name], ports[name])

            topic = deployment.topic_prefix + "mdm.customers"
            producing = asyncio.create_task(publish(bootstrap, topic, args.customers, mdm_record))
            await arrival(customers_db, "customers", args.customers, "MDM ingest, customers stored")
            await producing
            await arrival(loyalty_db, "members", args.customers, "loyalty members enrolled")

            ids = await customer_ids(customers_db)
            record = purchase(len(ids))

            def for_customer(i: int) -> Any:
                _, value, headers = record(i)
                data = json.loads(value)
                data["customer_id"] = ids[i % len(ids)]
                return data["customer_id"].encode(), json.dumps(data).encode(), headers

            topic = deployment.topic_prefix + "commerce.purchases"
            producing = asyncio.create_task(publish(bootstrap, topic, args.purchases, for_customer))
            await arrival(
                loyalty_db, "purchases", args.purchases, "purchase ingest, purchases stored"
            )
            await producing

            token = mint_token(SECRET, "bench", "admin", None)
            headers = {"authorization": f"Bearer {token}"}
            n = args.customers
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{ports['gateway']}", headers=headers, timeout=30
            ) as client:
                print(
                    f"reads at {n:,} customers, one client, {args.reads} each (target p99 < 50 ms)"
                )
                checks = {
                    "Customer 360": lambda i: f"/api/customers/{rng.choice(ids)}/360",
                    "search by email": lambda i: (
                        f"/api/customers?email=hcp{rng.randrange(n)}@example.org"
                    ),
                    "search by brick, first 50": lambda i: (
                        f"/api/customers?brick=BR-{rng.randrange(400):03d}&limit=50"
                    ),
                    "search by name prefix": lambda i: (
                        f"/api/customers?last_name=Last{rng.randrange(5000)}"
                    ),
                }
                for what, path in checks.items():
                    samples = await timed_reads(client, args.reads, path)
                    p50, p99 = pct(samples, 0.50), pct(samples, 0.99)
                    print(f"  {what:<28} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")
            for name, process in processes.items():
                print(f"peak resident memory of {name}: {rss_mb(process):.0f} MB (target < 300 MB)")
            stats = await customers_db.command("dbStats")
            print(f"database file on disk: {stats.get('fileSize', 0) / 1e6:,.0f} MB")
        finally:
            for process in reversed(processes.values()):
                process.stop()
            await mongo.close()


if __name__ == "__main__":
    asyncio.run(main())
