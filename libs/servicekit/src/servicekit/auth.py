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
from typing import TYPE_CHECKING, Annotated, Any, Literal

import jwt
from fastapi import Depends, Request

from servicekit import jwks
from servicekit.jwks import KeySet
from servicekit.problems import Forbidden, Unauthorized

if TYPE_CHECKING:
    from servicekit.settings import ServiceSettings

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


class TokenVerifier:
    """Verifies bearer tokens: HS256 with the shared ``secret`` (dev mode only, see
    ``ServiceSettings``) and RS256/ES256 with the public ``keys`` of a JWKS, chosen by the
    token's ``kid`` (production). A token signed any other way is refused."""

    def __init__(
        self, issuer: str = "cdp", *, secret: str | None = None, keys: KeySet | None = None
    ) -> None:
        self.issuer = issuer
        self.secret = secret
        self.keys = keys

    def _key(self, token: str) -> tuple[Any, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("invalid token") from exc
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm == ALGORITHM and self.secret is not None:
            return self.secret, algorithm
        if algorithm in jwks.ALGORITHMS and self.keys is not None and isinstance(kid, str):
            return self.keys.key(kid, algorithm), algorithm
        raise Unauthorized("invalid token")

    def verify(self, token: str) -> Identity:
        key, algorithm = self._key(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=self.issuer,
                options={"require": ["sub", "exp", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the token has expired") from exc
        except jwt.InvalidTokenError as exc:
            # The library's reason (signature, issuer, claims) helps a forger, not a user: it
            # goes to the log through the chained exception at most.
            raise Unauthorized("invalid token") from exc
        return _identity(claims, token)


def _identity(claims: dict[str, Any], token: str) -> Identity:
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


def verifier_for(settings: ServiceSettings) -> TokenVerifier:
    """The settings' verifier: the JWKS when one is given, the shared secret in dev mode only."""
    keys = KeySet(settings.jwt_jwks) if settings.jwt_jwks else None
    secret = settings.jwt_secret.get_secret_value() if settings.env == "dev" else None
    return TokenVerifier(settings.jwt_issuer, secret=secret, keys=keys)


def verify_token(token: str, secret: str, issuer: str = "cdp") -> Identity:
    """An HS256 token signed with ``secret`` (dev tokens, tests)."""
    return TokenVerifier(issuer, secret=secret).verify(token)


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send an Authorization: Bearer <token> header")
    return token.strip()


def verifier(app: Any) -> TokenVerifier:
    """The app's verifier (``app.state.verifier``), made from its settings on first use."""
    found = getattr(app.state, "verifier", None)
    if found is None:
        found = app.state.verifier = verifier_for(app.state.settings)
    return found


def current_caller(request: Request) -> Identity:
    """FastAPI dependency for the routes systems may call too: a person or a service identity
    (the route then says which systems, with ``require_role``)."""
    return verifier(request.app).verify(bearer_token(request))


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
