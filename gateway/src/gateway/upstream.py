"""Calls from the gateway to the services, forwarding the caller's token and correlation id."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from fastapi import Request, Response
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
    "allow",
    "retry-after",
)
RELAYED_REQUEST_HEADERS = ("content-type", "if-match")
API_PREFIX = "/api"
PATH_SAFE = "/:@!$&'()*+,;=-._~"


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


def unavailable(service: str, exc: Exception) -> Problem:
    return Problem(
        f"the {service} service did not answer: {type(exc).__name__}",
        status=503,
        code="service-unavailable",
        title="Service unavailable",
        service=service,
    )


class Upstreams:
    def __init__(self, urls: dict[str, str], timeout: float) -> None:
        self._clients = {
            name: httpx.AsyncClient(base_url=url, timeout=timeout) for name, url in urls.items()
        }

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
        try:
            return await client.request(
                method,
                path,
                json=json,
                content=content,
                params=params,
                headers={**(headers or {}), **self._headers(identity)},
                timeout=timeout or httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise unavailable(service, exc) from exc

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
            raise unavailable(service, exc) from exc
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
