"""A 405 is a problem that says which methods the path takes (Allow, RFC 9110)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from servicekit import problems


async def test_a_method_the_path_does_not_take_is_a_405_naming_the_allowed_ones() -> None:
    app = FastAPI()
    problems.install(app)

    @app.get("/teams")
    async def teams() -> list[str]:
        return []

    @app.post("/teams")
    async def create_team() -> dict[str, str]:
        return {}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        for method in ("TRACE", "DELETE", "PUT"):
            answer = await client.request(method, "/teams")
            assert answer.status_code == 405, method
            assert answer.headers["content-type"] == problems.PROBLEM_JSON
            assert set(answer.headers["allow"].split(", ")) == {"GET", "POST"}, method
