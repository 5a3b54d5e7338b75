"""The launcher's secondary indexes at size: what they cost writes, what they give reads.

On one throwaway server (H2 file in a temporary folder), N customer-like documents are inserted
in bulks of 1,000 into a collection without secondary indexes and into one with the services'
kinds (a string key, a multikey over an array of documents, a compound key with a sort field):
the insert rates side by side, and the rate of the last tenth beside the first (flat as the
collection grows). Then, on the indexed collection, single-client reads timed one by one:
by customer id (about 10 documents), by brick (first page of 50 sorted by name, ~N/400 match),
by name prefix (first page of 50), and count_documents by brick; p50 and p99 of each. The same
reads by a full scan are timed on a small sample for the contrast (`--scan-reads`).

    uv run python tests/bench/bench_secondary_indexes.py [--documents 1000000] [--reads 500]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from benchkit import pct
from devstack.mongo import start_mongo
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

BULK = 1_000
BRICKS = 400


def document(i: int) -> dict[str, Any]:
    return {
        "_id": f"c{i:09d}",
        "customer_id": f"k{i // 10:08d}",
        "name": f"{'abcdefghijklmnopqrstuvwxyz'[i * 7 % 26]}{i * 7919 % 1000003:07d}",
        "addresses": [{"brick": f"B{i % BRICKS:03d}", "city": "Town"}],
        "version": 1,
    }


async def insert(coll: AsyncCollection, documents: int) -> tuple[float, list[float]]:
    """Overall rate and the rate of each tenth."""
    tenths: list[float] = []
    tenth = max(documents // 10, BULK)
    started = mark = time.perf_counter()
    for start in range(0, documents, BULK):
        await coll.insert_many([document(i) for i in range(start, min(start + BULK, documents))])
        done = start + BULK
        if done % tenth == 0:
            now = time.perf_counter()
            tenths.append(tenth / (now - mark))
            mark = now
    return documents / (time.perf_counter() - started), tenths


async def timed(reads: int, read: Any) -> list[float]:
    samples = []
    for i in range(reads):
        started = time.perf_counter()
        await read(i)
        samples.append(time.perf_counter() - started)
    return samples


def line(what: str, samples: list[float]) -> str:
    return f"{what:<42} p50 {pct(samples, 0.50):7.2f} ms  p99 {pct(samples, 0.99):7.2f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--scan-reads", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="bench-indexes-") as folder:
        server = start_mongo(Path(folder) / "mongo", heap="4g")
        client: AsyncMongoClient = AsyncMongoClient(server.url)
        try:
            db = client.bench
            plain, indexed = db.plain, db.indexed
            await indexed.create_index([("customer_id", ASCENDING)])
            await indexed.create_index([("addresses.brick", ASCENDING), ("name", ASCENDING)])
            await indexed.create_index([("name", ASCENDING)])
            plain_rate, plain_tenths = await insert(plain, args.documents)
            indexed_rate, indexed_tenths = await insert(indexed, args.documents)
            n = args.documents
            print(f"insert {n:,} documents in bulks of {BULK:,}")
            print(
                f"  no secondary index   {plain_rate:9,.0f}/s  last tenth {plain_tenths[-1]:,.0f}/s"
                f" = {plain_tenths[-1] / plain_tenths[0]:.0%} of the first"
            )
            print(
                f"  three (one multikey) {indexed_rate:9,.0f}/s"
                f"  last tenth {indexed_tenths[-1]:,.0f}/s"
                f" = {indexed_tenths[-1] / indexed_tenths[0]:.0%} of the first;"
                f" {indexed_rate / plain_rate:.0%} of the plain rate"
            )

            async def by_customer(_: int) -> None:
                await indexed.find({"customer_id": f"k{rng.randrange(n // 10):08d}"}).to_list()

            async def by_brick(_: int) -> None:
                brick = f"B{rng.randrange(BRICKS):03d}"
                await indexed.find({"addresses.brick": brick}).sort("name", 1).limit(50).to_list()

            async def by_prefix(_: int) -> None:
                prefix = (
                    f"{'abcdefghijklmnopqrstuvwxyz'[rng.randrange(26)]}{rng.randrange(100):02d}"
                )
                await (
                    indexed.find({"name": {"$regex": f"^{prefix}"}})
                    .sort("name", 1)
                    .limit(50)
                    .to_list()
                )

            async def count_brick(_: int) -> None:
                await indexed.count_documents({"addresses.brick": f"B{rng.randrange(BRICKS):03d}"})

            async def scan_customer(_: int) -> None:
                await plain.find({"customer_id": f"k{rng.randrange(n // 10):08d}"}).to_list()

            print(f"reads at {n:,} documents, one client, {args.reads} each")
            print(line("by customer id (~10 documents)", await timed(args.reads, by_customer)))
            print(
                line(
                    f"by brick, first 50 by name (~{n // BRICKS:,} match)",
                    await timed(args.reads, by_brick),
                )
            )
            print(line("by name prefix, first 50", await timed(args.reads, by_prefix)))
            print(line(f"count by brick (~{n // BRICKS:,})", await timed(args.reads, count_brick)))
            print(
                line(
                    "by customer id, no index (full scan)",
                    await timed(args.scan_reads, scan_customer),
                )
            )
            await client.admin.command({"cdpScans": 1, "reset": True})
            stats = await db.command("dbStats")
            print(f"database file {stats.get('fileSize', 0) / 1e6:,.0f} MB")
        finally:
            await client.close()
            server.process.stop()


if __name__ == "__main__":
    asyncio.run(main())
