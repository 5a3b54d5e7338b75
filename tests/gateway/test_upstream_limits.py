"""The gateway against a service that accepts connections and never answers: reads and writes
time out after their own limits, and requests beyond the in-flight limit are shed at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from devstack.probes import eventually
from fastapi import FastAPI
from gateway.app import build
from gateway.settings import GatewaySettings
from servicekit.auth import mint_token

SECRET = "g" * 40


@pytest_asyncio.fixture
async def silent_service() -> AsyncIterator[str]:
    """A server that reads requests and answers none of them."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read()  # until the gateway gives up and closes

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    for writer in held:
        writer.close()
    server.close()


async def gateway_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://gateway",
        headers={"authorization": f"Bearer {mint_token(SECRET, 'ana', 'admin')}"},
        timeout=10,
    )


def settings(url: str, **overrides: object) -> GatewaySettings:
    return GatewaySettings(
        env="dev",
        jwt_secret=SECRET,
        log_json=False,
        customer_url=url,
        loyalty_url=url,
        **overrides,  # type: ignore[arg-type]
    )


async def timed(call: asyncio.Future | object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call  # type: ignore[misc]
    return response, time.monotonic() - started


async def test_reads_and_writes_time_out_after_their_own_limits(silent_service) -> None:
    app = build(settings(silent_service, upstream_timeout_seconds=0.2, write_timeout_seconds=0.8))
    async with app.router.lifespan_context(app), await gateway_client(app) as client:
        read, read_took = await timed(client.get("/api/customers/C-1"))
        write, write_took = await timed(
            client.post("/api/customers/C-1/notes", json={"text": "hello"})
        )
    assert read.status_code == write.status_code == 503
    assert read.json()["type"].endswith("/service-unavailable")
    assert read.headers["retry-after"] == write.headers["retry-after"] == "1"
    assert 0.2 <= read_took < 0.7, read_took
    assert 0.8 <= write_took < 1.5, write_took


async def test_requests_beyond_the_in_flight_limit_are_shed_with_retry_after(
    silent_service,
) -> None:
    app = build(
        settings(
            silent_service,
            upstream_timeout_seconds=1.0,
            max_in_flight_per_service=2,
            shed_retry_after_seconds=3,
        )
    )
    async with app.router.lifespan_context(app), await gateway_client(app) as client:
        holding = [asyncio.create_task(client.get(f"/api/customers/C-{n}")) for n in range(2)]
        upstreams = app.state.upstreams

        async def slots_taken() -> bool:
            return upstreams.in_flight("customer") == 2

        await eventually(slots_taken, timeout=2, interval=0.01, what="two requests in flight")
        shed, took = await timed(client.get("/api/customers/C-3"))
        assert shed.status_code == 503, shed.text
        assert took < 0.2, took  # at once, not after the upstream timeout
        assert shed.headers["retry-after"] == "3"
        assert shed.headers["content-type"] == "application/problem+json"
        body = shed.json()
        assert body["type"].endswith("/overloaded") and body["service"] == "customer"

        # another service is not held back by this one's load: its request goes through
        other = await client.get("/api/members/C-1")
        assert other.json()["type"].endswith("/service-unavailable"), other.text

        held = await asyncio.gather(*holding)
        assert [r.json()["type"].endswith("/service-unavailable") for r in held] == [True, True]
        assert upstreams.in_flight("customer") == 0
