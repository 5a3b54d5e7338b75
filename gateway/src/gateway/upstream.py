"""Calls from the gateway to the services, forwarding the caller's token and correlation id."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import Header, Request, Response
from fastapi.responses import StreamingResponse
from servicekit.auth import Identity
from servicekit.logging import correlation_id
from servicekit.problems import PROBLEM_JSON, Problem
from starlette.background import BackgroundTask

FORWARDED_RESPONSE_HEADERS = (
    "content-type",
    "location",
    "etag",
    "content-disposition",
    "idempotent-replayed",
    "allow",
    "retry-after",
)
RELAYED_REQUEST_HEADERS = ("content-type", "if-match", "idempotency-key")
API_PREFIX = "/api"
PATH_SAFE = "/:@!$&'()*+,;=-._~"
# the routes that call a service themselves (not relaying) pass the key on with this
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="idempotency-key",
        description="A key of yours: a retry with the same key and body gets the first answer",
    ),
]


def idempotency_header(key: str | None) -> dict[str, str]:
    return {"idempotency-key": key} if key is not None else {}


def checked_path(path: str) -> str:
    """The path to call on a service, refused when it could leave the route the request came in
    by: an encoded ``../`` arrives decoded as a dot segment, which the client would resolve into
    another of the service's routes. Control characters never name anything either."""
    if any(segment in (".", "..") for segment in path.split("/")) or any(
        ord(char) < 0x20 or ord(char) == 0x7F for char in path
    ):
        raise Problem(
            "the path holds a dot segment or a control character",
            status=400,
            code="invalid-path",
            title="Invalid path",
        )
    # a decoded "#", "?" or "%" stays part of its segment instead of ending the path
    return quote(path, safe=PATH_SAFE)


def unavailable(service: str, exc: Exception, retry_after: int = 1) -> Problem:
    """A service that did not answer in time (a write may still have happened: retry a POST
    with its Idempotency-Key)."""
    problem = Problem(
        f"the {service} service did not answer: {type(exc).__name__}",
        status=503,
        code="service-unavailable",
        title="Service unavailable",
        service=service,
    )
    problem.headers = {"Retry-After": str(retry_after)}
    return problem


def overloaded(service: str, retry_after: int) -> Problem:
    problem = Problem(
        f"the {service} service has too many requests in progress: retry in {retry_after} s",
        status=503,
        code="overloaded",
        title="Service overloaded",
        service=service,
    )
    problem.headers = {"Retry-After": str(retry_after)}
    return problem


class Upstreams:
    """One client per service. Reads time out after ``read_timeout``, writes after
    ``write_timeout`` (a route may ask for another); at most ``max_in_flight`` requests go to a
    service at once, and the next one is shed at once with a 503 and ``Retry-After``, rather
    than queued behind the ones a slow service is already failing to answer."""

    def __init__(
        self,
        urls: dict[str, str],
        read_timeout: float,
        *,
        write_timeout: float | None = None,
        max_in_flight: int = 64,
        retry_after: int = 1,
    ) -> None:
        self._clients = {
            name: httpx.AsyncClient(
                base_url=url,
                timeout=read_timeout,
                # room for every request let through, and for the exports streaming beside them
                # (not counted: a stream may end with the client gone, and no hook sees it)
                limits=httpx.Limits(max_connections=max_in_flight + 16),
            )
            for name, url in urls.items()
        }
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout or read_timeout
        self.max_in_flight = max_in_flight
        self.retry_after = retry_after
        self._in_flight = dict.fromkeys(urls, 0)

    def _enter(self, service: str) -> None:
        if self._in_flight[service] >= self.max_in_flight:
            raise overloaded(service, self.retry_after)
        self._in_flight[service] += 1

    def _leave(self, service: str) -> None:
        self._in_flight[service] -= 1

    def in_flight(self, service: str) -> int:
        return self._in_flight[service]

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    async def readiness(self) -> dict[str, bool]:
        """Whether each service answers its /ready check."""
        states = {}
        for name, client in self._clients.items():
            try:
                states[name] = (await client.get("/ready", timeout=1.0)).status_code == 200
            except httpx.HTTPError:
                states[name] = False
        return states

    def _headers(self, identity: Identity) -> dict[str, str]:
        headers = {"authorization": f"Bearer {identity.token}"}
        cid = correlation_id.get()
        if cid:
            headers["x-correlation-id"] = cid
        return headers

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        identity: Identity,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        client = self._clients[service]
        path = checked_path(path)
        if timeout is None:
            timeout = self.read_timeout if method in ("GET", "HEAD") else self.write_timeout
        self._enter(service)
        try:
            return await client.request(
                method,
                path,
                json=json,
                content=content,
                params=params,
                headers={**(headers or {}), **self._headers(identity)},
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise unavailable(service, exc, self.retry_after) from exc
        finally:
            self._leave(service)

    async def forward(
        self,
        service: str,
        method: str,
        path: str,
        identity: Identity,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Relay a service's answer as it is (its problem details included); a Location the
        service gives is made a gateway path."""
        upstream = await self.call(
            service,
            method,
            path,
            identity,
            json=json,
            content=content,
            params=params,
            headers=headers,
            timeout=timeout,
        )
        headers = {
            k: v
            for k, v in upstream.headers.items()
            if k.lower() in FORWARDED_RESPONSE_HEADERS and k.lower() != "content-type"
        }
        if headers.get("location", "").startswith("/"):
            headers["location"] = API_PREFIX + headers["location"]
        media_type = upstream.headers.get("content-type", PROBLEM_JSON)
        return Response(
            upstream.content,
            status_code=upstream.status_code,
            headers=headers,
            media_type=media_type,
        )

    async def relay(
        self,
        request: Request,
        service: str,
        path: str,
        identity: Identity,
        timeout: float | None = None,
    ) -> Response:
        """Pass a request through as it came (body, query, content type, If-Match)."""
        headers = {k: v for k, v in request.headers.items() if k.lower() in RELAYED_REQUEST_HEADERS}
        return await self.forward(
            service,
            request.method,
            path,
            identity,
            content=await request.body(),
            params=request.query_params.multi_items(),
            headers=headers,
            timeout=timeout,
        )

    async def stream(
        self, service: str, path: str, identity: Identity, *, params: Any = None
    ) -> Response:
        """GET a long answer (an export) and pass it on chunk by chunk, never whole in memory."""
        client = self._clients[service]
        request = client.build_request(
            "GET", checked_path(path), params=params, headers=self._headers(identity)
        )
        try:
            upstream = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise unavailable(service, exc, self.retry_after) from exc
        headers = {
            k: v
            for k, v in upstream.headers.items()
            if k.lower() in FORWARDED_RESPONSE_HEADERS and k.lower() != "content-type"
        }
        return StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            headers=headers,
            media_type=upstream.headers.get("content-type", PROBLEM_JSON),
            background=BackgroundTask(upstream.aclose),
        )
