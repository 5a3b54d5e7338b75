"""Single updates filtered by ``_id`` alone vs ``_id`` plus a version condition, at 50k documents.

The services' idempotent, version-ordered writes filter on ``{_id, version}``; mongo-java-server
alone would scan the collection for those. The launcher narrows by the ``_id`` index first. This
prints both rates on the provisioned server (narrowing on), and the versioned rate with narrowing
off for comparison (fewer updates there: each one scans).

    uv run python tests/bench/bench_mongo_version_filter.py [--documents 50000] [--updates 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from devstack.mongo import start_mongo
from pymongo import AsyncMongoClient


async def rate(url: str, documents: int, updates: int, versioned: bool) -> float:
    client: AsyncMongoClient = AsyncMongoClient(url)
    try:
        coll = client.bench[f"docs_{'versioned' if versioned else 'by_id'}"]
        for start in range(0, documents, 5000):
            await coll.insert_many(
                [{"_id": i, "version": 0, "name": f"n{i}"} for i in range(start, start + 5000)]
            )
        step = max(1, documents // updates)
        ids = [(i * step) % documents for i in range(updates)]
        began = time.perf_counter()
        for i in ids:
            query = {"_id": i, "version": {"$lt": 1}} if versioned else {"_id": i}
            result = await coll.update_one(query, {"$set": {"version": 1}})
            assert result.modified_count == 1
        return updates / (time.perf_counter() - began)
    finally:
        await client.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=50_000)
    parser.add_argument("--updates", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_mongo(Path(tmp) / "on")
        try:
            by_id = await rate(server.url, args.documents, args.updates, versioned=False)
            versioned = await rate(server.url, args.documents, args.updates, versioned=True)
        finally:
            server.process.stop()
        plain = start_mongo(Path(tmp) / "off", narrowing=False)
        try:
            unnarrowed = await rate(plain.url, args.documents, max(20, args.updates // 50), True)
        finally:
            plain.process.stop()
    print(f"documents: {args.documents}, H2 backend, one update per round trip")
    print(f"update filtered by _id alone:           {by_id:8.0f} /s")
    print(f"update filtered by _id + version $lt:   {versioned:8.0f} /s")
    print(f"ratio versioned / by _id:               {versioned / by_id:8.2f}")
    print(f"versioned, narrowing off (for contrast): {unnarrowed:7.0f} /s")


if __name__ == "__main__":
    asyncio.run(main())
