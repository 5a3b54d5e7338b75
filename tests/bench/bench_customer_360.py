"""Customer 360 under load: the highest sustainable request rate of ``GET /api/customers/{id}/360``
through the gateway (closed loop), then p50/p99 latency at 70% of it (open loop: requests are
sent on a fixed schedule and timed from when they were due, so a slow answer cannot hide the
ones queued behind it). Baseline in the same run: the plain record read
``GET /api/customers/{id}`` through the gateway at the same rate.

The platform runs as real processes (every service and the gateway) on the local servers;
N customers are created through the gateway, each with a purchase and a coupon.

Target: 360 p99 < 50 ms at 70% of the highest sustainable rate; each service < 300 MB.

    uv run python tests/bench/bench_customer_360.py [--customers 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from benchkit import pct, rss_mb, run_deployment
from devstack.process import ServerProcess
from devstack.servers import provide
from devstack.services import BACKENDS, service_process, wait_ready
from servicekit.auth import mint_token

SECRET = "bench-secret-" + uuid.uuid4().hex


async def enrolled(client: httpx.AsyncClient, customer_id: str) -> None:
    for _ in range(300):
        if (await client.get(f"/api/members/{customer_id}")).status_code == 200:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{customer_id} was not enrolled")


async def seed(client: httpx.AsyncClient, count: int) -> list[str]:
    now = datetime.now(UTC)
    promo = {
        "code": "BENCH10",
        "name": "Bench",
        "discount": {"kind": "percent", "value": "10"},
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_to": (now + timedelta(days=30)).isoformat(),
    }
    (await client.post("/api/coupons", json=promo)).raise_for_status()
    ids = []
    for i in range(count):
        response = await client.post(
            "/api/customers",
            json={
                "first_name": f"F{i}",
                "last_name": f"L{i}",
                "email": f"c{i}@bench.example",
                "addresses": [{"line1": f"{i} Main", "brick": f"B{i % 20}", "primary": True}],
            },
        )
        response.raise_for_status()
        ids.append(response.json()["id"])
    for cid in ids:
        await enrolled(client, cid)
        purchase = {
            "order_id": f"O-{cid}",
            "customer_id": cid,
            "purchased_at": now.isoformat(),
            "lines": [{"product": "P", "category": "Shoes", "amount": "59.90"}],
        }
        (await client.post("/api/purchases", json=purchase)).raise_for_status()
        (
            await client.post(f"/api/members/{cid}/coupons", json={"coupon": "BENCH10"})
        ).raise_for_status()
    return ids


async def closed_loop(
    client: httpx.AsyncClient, path: str, ids: list[str], seconds: float, workers: int
) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        nonlocal done
        i = offset
        while time.perf_counter() < deadline:
            response = await client.get(path.format(ids[i % len(ids)]))
            response.raise_for_status()
            done += 1
            i += workers

    began = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(workers)))
    return done / (time.perf_counter() - began)


async def open_loop(
    client: httpx.AsyncClient, path: str, ids: list[str], rate: float, seconds: float
) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    tasks = []
    began = time.perf_counter()

    async def one(i: int, due: float) -> None:
        nonlocal errors
        response = await client.get(path.format(ids[i % len(ids)]))
        latencies.append(time.perf_counter() - due)
        if response.status_code != 200:
            errors += 1

    for i in range(int(rate * seconds)):
        due = began + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    return latencies, errors


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--log-dir", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, provide(Path(tmp)) as servers:
        deployment = await run_deployment(servers, SECRET)
        log_dir = args.log_dir or Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        ports = deployment.ports(fixed=False)
        processes: dict[str, ServerProcess] = {}
        try:
            for name in (*BACKENDS, "gateway"):
                processes[name] = service_process(
                    name, deployment.env(name, ports), log_dir
                ).start()
            for name, process in processes.items():
                await asyncio.to_thread(wait_ready, process, ports[name])
            headers = {"authorization": f"Bearer {mint_token(SECRET, 'bench', 'admin')}"}
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{ports['gateway']}",
                headers=headers,
                timeout=30,
                limits=limits,
            ) as client:
                ids = await seed(client, args.customers)
                view = "/api/customers/{}/360"
                record = "/api/customers/{}"
                await closed_loop(client, view, ids, 3, args.workers)  # warm up
                highest = await closed_loop(client, view, ids, args.seconds, args.workers)
                rate = 0.7 * highest
                print(
                    f"{args.customers} customers; highest sustainable 360 rate "
                    f"({args.workers} concurrent clients): {highest:.0f} req/s"
                )
                latencies, errors = await open_loop(client, view, ids, rate, args.seconds)
                print(
                    f"360 at {rate:.0f} req/s (70%): p50 {pct(latencies, 0.5):.1f} ms, "
                    f"p99 {pct(latencies, 0.99):.1f} ms, errors {errors} (target p99 < 50 ms)"
                )
                base, base_errors = await open_loop(client, record, ids, rate, args.seconds)
                print(
                    f"baseline GET /api/customers/{{id}} at {rate:.0f} req/s: "
                    f"p50 {pct(base, 0.5):.1f} ms, p99 {pct(base, 0.99):.1f} ms, "
                    f"errors {base_errors}"
                )
            for name, process in processes.items():
                print(f"peak resident memory of {name}: {rss_mb(process):.0f} MB (target < 300 MB)")
        finally:
            for process in processes.values():
                process.stop()


if __name__ == "__main__":
    asyncio.run(main())
