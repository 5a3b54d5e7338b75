"""The gateway serves the built console at / and, in dev mode only, dev tokens for sign-in."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from gateway.app import build
from gateway.settings import GatewaySettings
from servicekit.auth import verify_token
from servicekit.settings import DEV_JWT_SECRET


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><main>console</main>")
    (tmp_path / "assets" / "app-1234.js").write_text("console.log(1)")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path.parent / "secret.txt").write_text("not to be served")
    return tmp_path


async def client(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    app = build(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        yield c


@pytest.fixture
async def dev(dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client(GatewaySettings(env="dev", console_dir=str(dist), log_json=False)):
        yield c


@pytest.fixture
async def production(
    dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.get_algorithm_by_name("RS256").to_jwk(key.public_key()))
    jwks = tmp_path_factory.mktemp("keys") / "jwks.json"  # not in the console's directory
    jwks.write_text(json.dumps({"keys": [{**public, "kid": "k1"}]}))
    settings = GatewaySettings(
        env="production",
        jwt_jwks=str(jwks),
        console_dir=str(dist),
        log_json=False,
    )
    async for c in client(settings):
        yield c


async def test_the_console_is_served_at_the_root_and_its_routes(dev: httpx.AsyncClient) -> None:
    for path in ("/", "/customers", "/customers/abc/360", "/sign-in"):
        page = await dev.get(path)
        assert page.status_code == 200, path
        assert "<main>console</main>" in page.text
        assert page.headers["cache-control"] == "no-cache"
    asset = await dev.get("/assets/app-1234.js")
    assert asset.text == "console.log(1)"
    assert "immutable" in asset.headers["cache-control"]
    assert (await dev.get("/favicon.svg")).text == "<svg/>"


async def test_the_api_docs_and_ops_paths_are_not_the_consoles(dev: httpx.AsyncClient) -> None:
    assert (await dev.get("/health")).json()["service"] == "gateway"
    assert "swagger" in (await dev.get("/docs")).text.lower()
    assert (await dev.get("/openapi.json")).json()["info"]["title"]
    assert (await dev.get("/asyncapi.json")).json()["asyncapi"] == "3.0.0"
    for path in ("/api/no-such-route", "/api", "/docs/nothing"):
        missing = await dev.get(path)
        assert missing.status_code == 404, path
        assert missing.headers["content-type"] == "application/problem+json"
    # an API route answers as itself, not with the console's page
    assert (await dev.get("/api/sign-in/options")).json()["dev_tokens"] is True


async def test_no_file_outside_the_console_is_served(dev: httpx.AsyncClient) -> None:
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
        answer = await dev.get(path)
        assert "not to be served" not in answer.text, path


async def test_without_a_built_console_the_root_says_so(tmp_path: Path) -> None:
    settings = GatewaySettings(env="dev", console_dir=str(tmp_path / "missing"), log_json=False)
    async for c in client(settings):
        answer = await c.get("/")
        assert answer.status_code == 404
        assert answer.json()["type"].endswith("console-not-built")


async def test_dev_mode_issues_a_token_for_the_person_named(dev: httpx.AsyncClient) -> None:
    options = (await dev.get("/api/sign-in/options")).json()
    assert options == {"dev_tokens": True, "roles": ["rep", "manager", "admin"]}
    answer = await dev.post(
        "/api/dev/token", json={"user": "ana", "role": "rep", "teams": ["south", "north"]}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    identity = verify_token(body["token"], DEV_JWT_SECRET)
    assert (identity.user, identity.role, identity.teams) == ("ana", "rep", {"north", "south"})
    assert body["teams"] == ["north", "south"]


@pytest.mark.parametrize(
    "body",
    [
        {"user": "ana", "role": "service"},
        {"user": "", "role": "rep"},
        {"user": "ana pop", "role": "rep"},
        {"user": "ana", "role": "rep", "scope": "commerce"},
    ],
)
async def test_dev_tokens_are_for_people_only(dev: httpx.AsyncClient, body: dict) -> None:
    answer = await dev.post("/api/dev/token", json=body)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"


async def test_outside_dev_mode_there_is_no_dev_token(production: httpx.AsyncClient) -> None:
    assert (await production.get("/api/sign-in/options")).json()["dev_tokens"] is False
    answer = await production.post("/api/dev/token", json={"user": "ana", "role": "admin"})
    assert answer.status_code in (404, 405)
    assert "token" not in answer.json()
    assert "/api/dev/token" not in (await production.get("/openapi.json")).json()["paths"]


async def test_every_operation_has_its_own_id(dev: httpx.AsyncClient) -> None:
    paths = (await dev.get("/openapi.json")).json()["paths"]
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    view = paths["/api/customers/{customer_id}/360"]["get"]["responses"]["200"]
    assert view["content"]["application/json"]["schema"]["$ref"].endswith("/Customer360")


async def test_a_method_an_api_path_does_not_take_is_a_405_not_the_consoles_404(
    dev: httpx.AsyncClient,
) -> None:
    for path, allowed in (
        ("/api/purchases", "POST"),
        ("/api/rfm/runs", "POST"),
        ("/api/tiers/reassessments", "POST"),
    ):
        answer = await dev.request("GET" if allowed == "POST" else "POST", path)
        assert answer.status_code == 405, path
        assert answer.headers["allow"] == allowed, path
        assert answer.headers["content-type"] == "application/problem+json"
