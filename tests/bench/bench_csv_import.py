"""CSV import: N customer rows through the real import API (``POST /bulk/imports``, the customer
service as a real process), a tenth of them matching existing customers by email, SMS number, or
last name + first name + postcode, until every import job is done (every customer stored and its
event published), beside a raw bulk insert of the same documents in the same run.

The existing customers (a tenth of N) are imported first, not timed. The timed rows go in files
of at most ``--file-rows`` rows (the API takes files up to 5 MB), one import after another.

Targets: rows/s >= 50% of the raw bulk insert; the last tenth's rate >= 80% of the first tenth's
(flat as the customers collection grows).

    uv run python tests/bench/bench_csv_import.py [--rows 100000] [--file-rows 20000]

Uses KAFKA_BOOTSTRAP_SERVERS / MONGODB_URL if set, else starts the local servers in a temp folder.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from benchkit import Progress, report, rss_mb, run_deployment
from customer import search
from customer.store import CustomerStore
from devstack.servers import provide
from devstack.services import service_process, wait_ready
from pymongo import AsyncMongoClient
from servicekit.auth import mint_token

BULK = 1_000
SECRET = "bench-secret-" + uuid.uuid4().hex
HEADER = ["first_name", "last_name", "email", "sms", "address_line1", "postal_code", "city"]


def existing_row(k: int) -> list[str]:
    """The k-th customer already there before the timed import."""
    return [
        f"Known{k}",
        f"Family{k}",
        f"known{k}@example.org",
        f"+40 722 {k:06d}",
        f"{k} Old Street",
        f"{300000 + k}",
        "Cluj",
    ]


def row(i: int) -> list[str]:
    """Row i of the timed import: every tenth row is an existing customer, found by email, by
    SMS number or by name + postcode in turn (with a new city: an update); the rest are new."""
    if i % 10 == 0:
        k = i // 10
        first, last, email, sms, line1, postcode, _ = existing_row(k)
        by = k % 3  # 0: email, 1: SMS number, 2: name + postcode
        return [
            first,
            last,
            email if by == 0 else "",
            sms if by == 1 else "",
            line1,
            postcode,
            "Iasi",
        ]
    return [
        f"First{i}",
        f"Last{i % 5000}",
        f"person{i}@example.org",
        "",
        f"{i % 300} Main Street",
        f"{400000 + i % 999}",
        "Brasov",
    ]


def csv_text(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


def documents(count: int) -> list[dict[str, Any]]:
    """The documents the timed rows describe, as a raw insert would write them."""
    now = datetime.now(UTC)
    docs = []
    for i in range(count):
        first, last, email, sms, line1, postcode, city = row(i)
        doc: dict[str, Any] = {
            "_id": str(uuid.uuid4()),
            "first_name": first,
            "last_name": last,
            "addresses": [{"line1": line1, "postal_code": postcode, "city": city, "primary": True}],
            "version": 1,
            "status": "active",
            "created_at": now,
            "updated_at": now,
        }
        if email:
            doc["email"] = email
        if sms:
            doc["sms"] = sms
        docs.append(doc)
    return docs


async def raw_bulk_insert(
    mongodb_url: str, database: str, count: int, indexed: bool = False
) -> float:
    """Rows/s of insert_many of the same documents; ``indexed``: with their search keys into a
    collection with the customer service's indexes (what the database itself costs)."""
    client: AsyncMongoClient = AsyncMongoClient(mongodb_url)
    docs = documents(count)
    if indexed:
        await CustomerStore(client[database]).create_indexes()
        docs = [{**doc, search.FIELD: search.search_keys(doc)} for doc in docs]
    try:
        began = time.perf_counter()
        for start in range(0, count, BULK):
            await client[database].customers.insert_many(docs[start : start + BULK], ordered=False)
        return count / (time.perf_counter() - began)
    finally:
        await client.drop_database(database)
        await client.close()


async def run_import(
    client: httpx.AsyncClient, data: bytes, done_before: int, progress: Progress | None
) -> dict[str, Any]:
    started = await client.post(
        "/bulk/imports", files={"file": ("customers.csv", data, "text/csv")}
    )
    started.raise_for_status()
    location = f"/bulk/imports/{started.json()['id']}"
    while True:
        job = (await client.get(location)).json()
        if progress is not None:
            progress.record(done_before + job["progress"]["rows"])
        if job["status"] != "running":
            assert job["status"] == "done", job
            return job
        await asyncio.sleep(0.25)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--file-rows", type=int, default=20_000)
    parser.add_argument("--log-dir", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, provide(Path(tmp)) as servers:
        deployment = await run_deployment(servers, SECRET)
        log_dir = args.log_dir or Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        ports = deployment.ports(fixed=False)
        process = service_process("customer", deployment.env("customer", ports), log_dir).start()
        headers = {"authorization": f"Bearer {mint_token(SECRET, 'bench', 'admin')}"}
        n, known = args.rows, (args.rows + 9) // 10
        print(f"{n} rows ({known} matching existing customers), servers: {servers.origin}")
        try:
            await asyncio.to_thread(wait_ready, process, ports["customer"])
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{ports['customer']}", headers=headers, timeout=60
            ) as client:
                began = time.perf_counter()
                for start in range(0, known, args.file_rows):
                    rows = [
                        existing_row(k) for k in range(start, min(known, start + args.file_rows))
                    ]
                    await run_import(client, csv_text(rows), 0, None)
                print(
                    f"set-up: {known} existing customers after {time.perf_counter() - began:.0f} s"
                )

                files = [
                    csv_text([row(i) for i in range(start, min(n, start + args.file_rows))])
                    for start in range(0, n, args.file_rows)
                ]
                tally = {"rows": 0, "created": 0, "updated": 0, "matched": 0, "rejected": 0}
                progress = Progress(n)
                began = time.perf_counter()
                for data in files:
                    job = await run_import(client, data, tally["rows"], progress)
                    for key in tally:
                        tally[key] += job["progress"][key]
                elapsed = time.perf_counter() - began
            memory = rss_mb(process)
        finally:
            process.stop()
        print(f"imported in {elapsed:.1f} s: {tally}")
        raw = await raw_bulk_insert(servers.mongodb_url, f"{deployment.database_prefix}raw", n)
        indexed = await raw_bulk_insert(
            servers.mongodb_url, f"{deployment.database_prefix}idx", n, indexed=True
        )
        report(
            f"CSV import through the API ({len(files)} files)",
            n / elapsed,
            {f"bulk insert of the same documents ({BULK} per insert_many)": raw},
            0.50,
            progress,
            unit="rows/s",
        )
        print(
            f"  for reference, the same insert with search keys into a collection with the "
            f"customer service's indexes: {indexed:,.0f} rows/s"
        )
        print(f"peak resident memory of customer: {memory:.0f} MB (target < 300 MB)")


if __name__ == "__main__":
    asyncio.run(main())
