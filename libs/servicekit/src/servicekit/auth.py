"""Bearer JWT identities. The gateway authenticates; every service verifies the token itself,
since its own port is reachable too, and never trusts an identity from a plain header."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated, Literal

import jwt
from fastapi import Depends, Request

from servicekit.problems import Forbidden, Unauthorized

Role = Literal["rep", "manager", "admin"]
ROLES: tuple[Role, ...] = ("rep", "manager", "admin")
ALGORITHM = "HS256"


@dataclass(frozen=True)
class Identity:
    user: str
    role: Role
    teams: frozenset[str] = field(default_factory=frozenset)
    token: str = ""

    def can_act_for_team(self, team: str) -> bool:
        return self.role == "admin" or team in self.teams


def mint_token(
    secret: str,
    user: str,
    role: Role,
    teams: list[str] | None = None,
    *,
    issuer: str = "cdp",
    ttl_seconds: int = 12 * 3600,
) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    now = int(time.time())
    claims = {
        "sub": user,
        "role": role,
        "teams": sorted(teams or []),
        "iss": issuer,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(token: str, secret: str, issuer: str = "cdp") -> Identity:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=issuer,
            options={"require": ["sub", "exp", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("the token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    role = claims.get("role")
    if role not in ROLES:
        raise Unauthorized("the token carries no valid role")
    teams = claims.get("teams") or []
    if not isinstance(teams, list) or not all(isinstance(t, str) for t in teams):
        raise Unauthorized("the token's teams claim must be a list of strings")
    return Identity(user=str(claims["sub"]), role=role, teams=frozenset(teams), token=token)


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send an Authorization: Bearer <token> header")
    return token.strip()


def current_identity(request: Request) -> Identity:
    """FastAPI dependency; the app's state holds the settings with the secret."""
    settings = request.app.state.settings
    return verify_token(
        bearer_token(request), settings.jwt_secret.get_secret_value(), settings.jwt_issuer
    )


CurrentIdentity = Annotated[Identity, Depends(current_identity)]


def require_role(identity: Identity, *roles: Role) -> None:
    if identity.role not in roles:
        raise Forbidden(f"this action needs the role {' or '.join(roles)}")
