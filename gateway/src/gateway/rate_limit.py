"""Rate limits at the gateway: a token bucket per identity (the verified token's subject) and
one per client address, over every /api call. A call takes a token from both; when either is
empty it is answered 429 with a problem and ``Retry-After`` (whole seconds until the bucket
holds a token again), and takes nothing. The defaults are generous for people and systems at
work; they stop a runaway script or a flood."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from servicekit import problems
from servicekit.auth import TokenVerifier
from servicekit.problems import Problem
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.upstream import API_PREFIX

# How many buckets are kept: beyond it the least recently used go (a forgotten one is full).
MAX_BUCKETS = 100_000


@dataclass
class Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """Buckets of ``burst`` tokens refilled at ``per_second``, by key."""

    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second = per_second
        self.burst = burst
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def wait_seconds(self, key: str, now: float) -> float:
        """0 when the bucket holds a token now; else how long until it does."""
        bucket = self._refilled(key, now)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.per_second

    def take(self, key: str, now: float) -> None:
        self._refilled(key, now).tokens -= 1

    def _refilled(self, key: str, now: float) -> Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(float(self.burst), now)
            if len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.per_second)
            bucket.at = now
        return bucket


class RateLimit:
    """ASGI middleware: the buckets of the caller's identity and address, over /api."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: TokenVerifier,
        identity_per_second: float,
        identity_burst: int,
        address_per_second: float,
        address_burst: int,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.identities = TokenBuckets(identity_per_second, identity_burst)
        self.addresses = TokenBuckets(address_per_second, address_burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        address = (scope.get("client") or ("unknown", 0))[0]
        subject = self._subject(scope)
        waits = [self.addresses.wait_seconds(address, now)]
        if subject is not None:
            waits.append(self.identities.wait_seconds(subject, now))
        wait = max(waits)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            refusal = Problem(
                f"too many requests: retry after {retry_after} s",
                status=429,
                code="too-many-requests",
                title="Too many requests",
            )
            headers = {"Retry-After": str(retry_after)}
            await problems.problem_response(refusal, headers=headers)(scope, receive, send)
            return
        self.addresses.take(address, now)
        if subject is not None:
            self.identities.take(subject, now)
        await self.app(scope, receive, send)

    def _subject(self, scope: Scope) -> str | None:
        """The verified token's subject (a bad token is limited by its address alone, and
        refused 401 by the route)."""
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer" or not token:
                    return None
                try:
                    identity = self.verifier.verify(token.strip())
                except Problem:
                    return None
                return f"{identity.role}:{identity.user}"
        return None
