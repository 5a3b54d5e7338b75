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
        "/api/teams/%0A",  # a line feed, which the request's parsed URL drops
        "/api/saved-searches/%0A",
    ],
)
async def test_a_dot_segment_or_control_character_is_refused_with_a_problem(
    gateway: httpx.AsyncClient, path: str
) -> None:
    response = await gateway.get(path)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/invalid-path")


@pytest.mark.parametrize("segment", ["%23", "x%3Fy", "%25", "a%23b"])
async def test_a_hash_question_mark_or_percent_stays_in_its_segment(
    gateway: httpx.AsyncClient, segment: str
) -> None:
    """Decoded, they would end the service's path early (a 307 to a trailing slash) or add a
    query: relayed encoded, they name a customer or an item that does not exist."""
    for method in ("GET", "POST"):
        response = await gateway.request(method, f"/api/customers/nobody/{segment}")
        assert response.status_code == 404, (method, segment, response.status_code)
        response = await gateway.get(f"/api/customers/{segment}")
        assert response.status_code == 404, (segment, response.status_code)


@pytest.mark.parametrize("path", ["/api/teams/", "/api/customers/", "/api/lists/"])
async def test_a_trailing_slash_is_another_path_not_a_redirect(
    gateway: httpx.AsyncClient, path: str
) -> None:
    response = await gateway.delete(path)
    assert response.status_code in (404, 405), (path, response.status_code)


async def test_every_answer_says_nosniff(gateway: httpx.AsyncClient) -> None:
    for path in ("/api/customers?limit=1", "/api/customers/none-such", "/health"):
        response = await gateway.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
