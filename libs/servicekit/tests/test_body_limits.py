"""Body limits per route: JSON bodies, attachments and CSV uploads each have their own, and a
body past its route's limit is a 413 problem naming the limit (declared length or streamed)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from servicekit import problems
from servicekit.body_limits import BodyLimits
from servicekit.runtime import CorrelationAndLimits
from servicekit.settings import ServiceSettings

LIMITS = BodyLimits(json=100, attachment=1_000, csv=5_000)


def app(prefix: str = "") -> FastAPI:
    service = FastAPI()
    problems.install(service)
    service.add_middleware(CorrelationAndLimits, body_limits=LIMITS, prefix=prefix)

    @service.post("/{path:path}")
    async def take(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return service


async def post(path: str, size: int, prefix: str = "", streamed: bool = False) -> httpx.Response:
    transport = httpx.ASGITransport(app=app(prefix))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        if not streamed:
            return await client.post(path, content=b"x" * size)

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for _ in range(size // 50):
                yield b"x" * 50

        return await client.post(path, content=chunks())


@pytest.mark.parametrize(
    ("path", "limit", "kind"),
    [
        ("/customers", 100, "JSON bodies"),
        ("/customers/c1/attachments", 1_000, "attachments"),
        ("/bulk/imports", 5_000, "CSV uploads"),
        ("/bulk/import-checks", 5_000, "CSV uploads"),
        ("/bulk/suppressions", 5_000, "CSV uploads"),
        ("/lists/l1/import", 5_000, "CSV uploads"),
        ("/lists/l1/customers", 100, "JSON bodies"),
    ],
)
@pytest.mark.parametrize("streamed", [False, True])
async def test_each_route_takes_a_body_up_to_its_limit(
    path: str, limit: int, kind: str, streamed: bool
) -> None:
    assert (await post(path, limit, streamed=streamed)).json() == {"bytes": limit}
    refused = await post(path, limit + 50, streamed=streamed)
    assert refused.status_code == 413
    assert refused.headers["content-type"] == problems.PROBLEM_JSON
    assert refused.json()["limit"] == limit
    assert f"exceeds {limit} bytes, the limit of {kind}" in refused.json()["detail"]


async def test_the_gateway_applies_them_under_its_prefix() -> None:
    assert (await post("/api/bulk/imports", 4_000, prefix="/api")).status_code == 200
    assert (await post("/api/customers", 4_000, prefix="/api")).status_code == 413


def test_the_defaults_fit_their_uses() -> None:
    limits = ServiceSettings(env="dev").body_limits()
    assert limits.json == 1024 * 1024
    assert limits.attachment >= 5 * 1024 * 1024  # the file and its multipart envelope
    assert limits.csv >= 100_000 * 150  # 100,000 rows of 150 bytes
