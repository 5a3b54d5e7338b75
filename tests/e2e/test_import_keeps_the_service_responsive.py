"""A CSV import is CPU work (parsing, validating and deciding every row); it must not starve the
customer service's event loop: /health answers promptly while an import runs, and reads answer.

(Reads are not timed: during an import's bulk writes the dev/CI database server itself makes a
read by id wait up to a few seconds, also one sent straight to it.)"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.servers]

PROMPT = 0.5  # seconds: what a health check may take during the import


def csv_file(family: str, rows: int, last_row_bad: bool) -> bytes:
    lines = ["Given,Family,E-mail,Zip,Town,Street"]
    lines += [
        f"Ana{i},{family},ana{i}@{family}.example.org,{400000 + i % 900},Cluj,Str. {i}"
        for i in range(rows)
    ]
    if last_row_bad:
        lines.append(f"Bad,{family},not-an-email,,,")
    return ("\n".join(lines) + "\n").encode()


MAPPING = {
    "Given": "first_name",
    "Family": "last_name",
    "E-mail": "email",
    "Zip": "postal_code",
    "Town": "city",
    "Street": "address_line1",
}


async def probe(service: httpx.AsyncClient, customer_id: str, health: list[float]) -> None:
    """Health checks and reads on the service's own port, until cancelled; the health checks'
    times go to ``health``."""
    while True:
        started = time.monotonic()
        answer = await service.get("/health")
        health.append(time.monotonic() - started)
        assert answer.status_code == 200
        read = await service.get(f"/customers/{customer_id}")
        assert read.status_code == 200, read.text
        await asyncio.sleep(0.05)


async def finished(gateway: httpx.AsyncClient, location: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = (await gateway.get(location)).json()
        if job["status"] != "running":
            return job
        await asyncio.sleep(0.1)
    raise AssertionError("the import did not finish in 60 s")


@pytest.mark.parametrize(
    ("rows", "last_row_bad"),
    [
        (1_500, False),  # every row checked first, then imported chunk by chunk
        (20_000, True),  # every row checked, and the file refused
    ],
)
async def test_health_answers_during_an_import_in_abort_mode(
    gateway, platform, rows, last_row_bad
) -> None:
    family = f"Load{uuid.uuid4().hex[:6]}"
    someone = await gateway.post(
        "/api/customers",
        json={"first_name": "Read", "last_name": family, "email": f"read@{family}.example.org"},
    )
    assert someone.status_code == 201, someone.text
    data = csv_file(family, rows, last_row_bad)
    async with httpx.AsyncClient(
        base_url=platform.url("customer"), headers=platform.auth(), timeout=10
    ) as service:
        health: list[float] = []
        # probing from before the upload: the work may start before the upload is answered
        prober = asyncio.create_task(probe(service, someone.json()["id"], health))
        try:
            started = await gateway.post(
                "/api/bulk/imports",
                files={"file": ("load.csv", data, "text/csv")},
                data={"mapping": json.dumps(MAPPING), "on_invalid": "abort"},
            )
            assert started.status_code == 202, started.text
            job = await finished(gateway, started.headers["location"])
        finally:
            prober.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await prober
    if last_row_bad:
        assert job["status"] == "rejected", job
        assert job["progress"]["rejected"] == 1
    else:
        assert job["progress"]["created"] == rows, job["progress"]
    assert len(health) >= 3
    assert max(health) < PROMPT, [round(h, 2) for h in sorted(health)[-5:]]
