"""How a person signs in to the console.

In dev mode (``CDP_ENV=dev``: the local platform and its tests) the console asks for a token for
a person it names: ``POST /api/dev/token``. That route does not exist elsewhere; there the console
takes a bearer token issued by whoever issues them (later an OpenID Connect provider).
"""

from __future__ import annotations

from typing import Literal, get_args

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict, Field
from servicekit.auth import ROLES, mint_token

from gateway.settings import GatewaySettings

PersonRole = Literal["rep", "manager", "admin"]
assert set(get_args(PersonRole)) == set(ROLES)  # the roles of people, as servicekit has them


class SignInOptions(BaseModel):
    dev_tokens: bool = Field(description="POST /api/dev/token issues tokens (dev mode only)")
    roles: list[PersonRole]


class DevTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    role: PersonRole
    teams: list[str] = Field(default_factory=list, max_length=20)


class DevToken(BaseModel):
    token: str
    user: str
    role: PersonRole
    teams: list[str]


def install(app: FastAPI, settings: GatewaySettings) -> None:
    dev = settings.env == "dev"
    router = APIRouter(prefix="/api", tags=["sign-in"])

    @router.get("/sign-in/options", response_model=SignInOptions)
    async def sign_in_options() -> SignInOptions:
        """What the sign-in screen offers (no token needed)."""
        return SignInOptions(dev_tokens=dev, roles=list(get_args(PersonRole)))

    if dev:

        @router.post("/dev/token", response_model=DevToken)
        async def dev_token(body: DevTokenRequest) -> DevToken:
            """Dev mode only: a bearer token for the person named (no password)."""
            secret = settings.jwt_secret.get_secret_value()
            token = mint_token(secret, body.user, body.role, body.teams, issuer=settings.jwt_issuer)
            return DevToken(token=token, user=body.user, role=body.role, teams=sorted(body.teams))

    app.include_router(router)
