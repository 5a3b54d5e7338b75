"""A system's service identity: role ``service`` with the system as its scope. It passes only
the routes that name its system; the routes of people refuse it."""

from __future__ import annotations

import time

import jwt
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from servicekit.auth import (
    CurrentCaller,
    CurrentIdentity,
    TokenVerifier,
    mint_service_token,
    mint_token,
    require_role,
    verify_token,
)
from servicekit.problems import Forbidden, Unauthorized, install

SECRET = "s" * 40


def test_a_service_token_names_its_system() -> None:
    identity = verify_token(mint_service_token(SECRET, "commerce"), SECRET)
    assert (identity.user, identity.role, identity.scope) == (
        "service:commerce",
        "service",
        "commerce",
    )
    assert identity.is_service("commerce") and not identity.can_act_for_team("north")


def test_a_service_token_without_a_known_system_is_unauthorized() -> None:
    claims = {"sub": "x", "role": "service", "iss": "cdp", "exp": int(time.time()) + 60}
    for scope in (None, "payroll"):
        token = jwt.encode({**claims, "scope": scope}, SECRET, algorithm="HS256")
        with pytest.raises(Unauthorized):
            verify_token(token, SECRET)
    with pytest.raises(ValueError):
        mint_service_token(SECRET, "payroll")
    with pytest.raises(ValueError):
        mint_token(SECRET, "x", "service")  # type: ignore[arg-type]


def test_a_route_allows_the_systems_it_names_and_the_roles_it_names() -> None:
    commerce = verify_token(mint_service_token(SECRET, "commerce"), SECRET)
    rep = verify_token(mint_token(SECRET, "ria", "rep"), SECRET)
    manager = verify_token(mint_token(SECRET, "mia", "manager"), SECRET)
    for allowed in (commerce, manager):
        require_role(allowed, "manager", "admin", services=("commerce",))
    with pytest.raises(Forbidden):
        require_role(rep, "manager", "admin", services=("commerce",))
    with pytest.raises(Forbidden):
        require_role(commerce, "manager", "admin")


async def test_the_routes_of_people_refuse_a_service_identity() -> None:
    app = FastAPI()
    app.state.verifier = TokenVerifier("cdp", secret=SECRET)
    install(app)

    @app.get("/people")
    async def people(identity: CurrentIdentity) -> dict:
        return {"user": identity.user}

    @app.get("/systems")
    async def systems(identity: CurrentCaller) -> dict:
        return {"user": identity.user}

    service = {"authorization": f"Bearer {mint_service_token(SECRET, 'commerce')}"}
    person = {"authorization": f"Bearer {mint_token(SECRET, 'ria', 'rep')}"}
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/people", headers=service)).status_code == 403
        assert (await client.get("/people", headers=person)).status_code == 200
        assert (await client.get("/systems", headers=service)).json() == {
            "user": "service:commerce"
        }
