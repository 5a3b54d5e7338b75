"""The gateway's rate limits: a token bucket per identity and one per client address, answered
429 with a problem and Retry-After; small limits here, generous ones by default."""

from __future__ import annotations

import httpx
from gateway.app import build
from gateway.settings import GatewaySettings
from servicekit.auth import mint_token
from servicekit.problems import PROBLEM_JSON

SECRET = "a-test-secret-of-at-least-32-bytes-long!"


def client(address: str = "203.0.113.7", **limits: float) -> httpx.AsyncClient:
    settings = GatewaySettings(env="dev", jwt_secret=SECRET, log_json=False, **limits)
    transport = httpx.ASGITransport(app=build(settings), client=(address, 4711))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


def bearer(user: str) -> dict[str, str]:
    return {"authorization": f"Bearer {mint_token(SECRET, user, 'rep', ['north'])}"}


async def test_an_identity_past_its_burst_gets_429_with_retry_after() -> None:
    limits = {
        "rate_limit_identity_burst": 3,
        "rate_limit_identity_per_second": 0.01,
        "rate_limit_address_burst": 100,
    }
    async with client(**limits) as gateway:
        ana, bob = bearer("ana"), bearer("bob")
        for _ in range(3):
            assert (await gateway.get("/api/sign-in/options", headers=ana)).status_code == 200
        refused = await gateway.get("/api/sign-in/options", headers=ana)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == PROBLEM_JSON
        assert refused.json()["type"].endswith("/too-many-requests")
        # one token at 0.01 a second: 100 s, less what refilled while the requests ran
        assert 90 <= int(refused.headers["retry-after"]) <= 100
        assert refused.headers["x-content-type-options"] == "nosniff"
        # another person from the same address is not held back
        assert (await gateway.get("/api/sign-in/options", headers=bob)).status_code == 200


async def test_an_address_past_its_burst_gets_429_whatever_the_token() -> None:
    limits = {"rate_limit_address_burst": 4, "rate_limit_address_per_second": 1.0}
    async with client(**limits) as gateway:
        answers = [
            (await gateway.get("/api/sign-in/options", headers=bearer(f"user{i}"))).status_code
            for i in range(6)
        ]
        assert answers == [200, 200, 200, 200, 429, 429]
        # a forged or absent token is limited by its address too
        refused = await gateway.get("/api/sign-in/options", headers={"authorization": "Bearer x"})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
    async with client(address="198.51.100.1", **limits) as elsewhere:
        assert (await elsewhere.get("/api/sign-in/options")).status_code == 200


async def test_the_ops_paths_are_not_limited() -> None:
    async with client(rate_limit_address_burst=1, rate_limit_address_per_second=0.01) as gateway:
        assert (await gateway.get("/api/sign-in/options")).status_code == 200
        assert (await gateway.get("/api/sign-in/options")).status_code == 429
        assert (await gateway.get("/health")).status_code == 200


def test_the_default_limits_are_generous() -> None:
    settings = GatewaySettings(env="dev")
    assert settings.rate_limit_identity_per_second >= 50
    assert settings.rate_limit_identity_burst >= 500
    assert settings.rate_limit_address_burst >= settings.rate_limit_identity_burst
