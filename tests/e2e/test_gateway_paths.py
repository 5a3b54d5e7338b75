"""The gateway relays a path only to the route it came in by, and answers are never sniffed."""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.servers, pytest.mark.e2e]


@pytest.mark.parametrize(
    "path",
    [
        "/api/members/..%2F..%2Fopenapi.json",  # an encoded ../ would reach loyalty's own spec
        "/api/customers/c1/..%2F..%2Fdocs",
        "/api/customers/%04",  # a control character names nothing
        "/api/purchases/%00x",
    ],
)
async def test_a_dot_segment_or_control_character_is_refused_with_a_problem(
    gateway: httpx.AsyncClient, path: str
) -> None:
    response = await gateway.get(path)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/invalid-path")


async def test_every_answer_says_nosniff(gateway: httpx.AsyncClient) -> None:
    for path in ("/api/customers?limit=1", "/api/customers/none-such", "/health"):
        response = await gateway.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
