"""Bearer JWT identities. The gateway authenticates; every service verifies the token itself,
since its own port is reachable too, and never trusts an identity from a plain header.

People are reps, managers and admins. A system that feeds the platform (the commerce systems)
holds a service identity: role ``service`` and a ``scope`` naming the system. A service identity
may call only the routes that name its scope (``require_role(..., services=...)`` behind
``CurrentCaller``); ``CurrentIdentity``, what every other route takes, refuses it, so a new route
is closed to systems until it says otherwise."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated, Literal

import jwt
from fastapi import Depends, Request

from servicekit.problems import Forbidden, Unauthorized

Role = Literal["rep", "manager", "admin", "service"]
ROLES: tuple[Role, ...] = ("rep", "manager", "admin")  # the roles of people
SERVICE: Role = "service"
SYSTEMS = ("commerce",)  # the systems a service identity may name in its scope
ALGORITHM = "HS256"


@dataclass(frozen=True)
class Identity:
    user: str
    role: Role
    teams: frozenset[str] = field(default_factory=frozenset)
    token: str = ""
    scope: str | None = None  # a service identity's system

    def is_service(self, system: str) -> bool:
        return self.role == SERVICE and self.scope == system

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


def mint_service_token(
    secret: str, system: str, *, issuer: str = "cdp", ttl_seconds: int = 12 * 3600
) -> str:
    """A token for a system (``service:<system>``, role ``service``, scope the system)."""
    if system not in SYSTEMS:
        raise ValueError(f"system must be one of {', '.join(SYSTEMS)}")
    now = int(time.time())
    claims = {
        "sub": f"service:{system}",
        "role": SERVICE,
        "scope": system,
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
        # The library's reason (signature, issuer, claims) helps a forger, not a user: it goes
        # to the log through the chained exception at most.
        raise Unauthorized("invalid token") from exc
    role = claims.get("role")
    if role == SERVICE:
        scope = claims.get("scope")
        if scope not in SYSTEMS:
            raise Unauthorized("a service token must name a known system in its scope")
        return Identity(user=str(claims["sub"]), role=SERVICE, token=token, scope=scope)
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


def current_caller(request: Request) -> Identity:
    """FastAPI dependency for the routes systems may call too: a person or a service identity
    (the route then says which systems, with ``require_role``). The app's state holds the
    settings with the secret."""
    settings = request.app.state.settings
    return verify_token(
        bearer_token(request), settings.jwt_secret.get_secret_value(), settings.jwt_issuer
    )


def current_identity(request: Request) -> Identity:
    """FastAPI dependency for the routes of people: a service identity is refused (403)."""
    identity = current_caller(request)
    if identity.role == SERVICE:
        raise Forbidden("a service identity may not call this route")
    return identity


CurrentIdentity = Annotated[Identity, Depends(current_identity)]
CurrentCaller = Annotated[Identity, Depends(current_caller)]


def require_role(identity: Identity, *roles: Role, services: tuple[str, ...] = ()) -> None:
    """Allow these roles of people, and the service identities of these systems."""
    if identity.role in roles or (identity.role == SERVICE and identity.scope in services):
        return
    allowed = [*roles, *(f"the {system} service" for system in services)]
    raise Forbidden(f"this action needs the role {' or '.join(allowed)}")
