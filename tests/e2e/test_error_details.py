"""Refusals say little: a bad token answers "invalid token" without the JWT library's reason,
on the gateway and on every service's port; a refused object names no team (the team-scope
tests check each refusal's detail)."""

from __future__ import annotations

import httpx
import jwt
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.servers]

PATHS = {
    "gateway": "/api/customers",
    "customer": "/customers",
    "segmentation": "/segmentations",
    "lists": "/teams",
    "loyalty": "/coupons",
}


async def test_a_bad_token_is_refused_without_the_librarys_reason(platform) -> None:
    claims = {"sub": "eve", "role": "admin", "iss": "cdp", "exp": 4_102_444_800}
    tokens = [
        jwt.encode(claims, "not-the-secret-" + "x" * 32, algorithm="HS256"),  # bad signature
        "not.a.token",
        jwt.encode({**claims, "iss": "elsewhere"}, "x" * 40, algorithm="HS256"),
        jwt.encode({"sub": "eve"}, "x" * 40, algorithm="HS256"),
    ]
    for service, path in PATHS.items():
        async with httpx.AsyncClient(base_url=platform.url(service), timeout=10) as client:
            for token in tokens:
                answer = await client.get(path, headers={"authorization": f"Bearer {token}"})
                assert answer.status_code == 401, (service, answer.text)
                assert answer.json()["detail"] == "invalid token", (service, answer.text)
