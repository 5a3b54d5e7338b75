"""Calls from the gateway to the services, forwarding the caller's token and correlation id."""

from __future__ import annotations

import asyncio
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


def not_yet_known(service: str, customer_id: str, retry_after: int) -> Problem:
    problem = Problem(
        f"customer {customer_id} exists, but the {service} service has not received it yet: "
        f"retry in {retry_after} s",
        status=503,
        code="customer-not-yet-known",
        title="Customer not yet known",
        service=service,
        customer_id=customer_id,
    )
    problem.headers = {"Retry-After": str(retry_after)}
    return problem


# Services that learn of customers from the customer service's events (loyalty enrolls each
# one). A customer created a moment ago can be unknown to them yet: their "not found" is asked
# again after these pauses (the request had no effect), and then, if the customer service knows
# the customer, answered with a 503 and Retry-After rather than a 404 saying it does not exist.
REPLICAS = frozenset({"segmentation", "lists", "loyalty"})
UNKNOWN_CUSTOMER = ("customer-not-found", "member-not-found")  # loyalty enrolls every customer
CATCH_UP_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8)


def _unknown_customer(service: str, response: httpx.Response) -> str | None:
    """The customer a replica says it does not know, if that is what its 404 says."""
    if service not in REPLICAS or response.status_code != 404:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    code = str(body.get("type", "")).rsplit("/", 1)[-1] if isinstance(body, dict) else ""
    customer_id = body.get("customer_id") if code in UNKNOWN_CUSTOMER else None
    return customer_id if isinstance(customer_id, str) else None


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
        transport: httpx.AsyncBaseTransport | None = None,  # tests: services in process
        catch_up_pauses: tuple[float, ...] = CATCH_UP_PAUSES,
    ) -> None:
        self._clients = {
            name: httpx.AsyncClient(
                base_url=url,
                timeout=read_timeout,
                # room for every request let through, and for the exports streaming beside them
                # (not counted: a stream may end with the client gone, and no hook sees it)
                limits=httpx.Limits(max_connections=max_in_flight + 16),
                transport=transport,
            )
            for name, url in urls.items()
        }
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout or read_timeout
        self.max_in_flight = max_in_flight
        self.retry_after = retry_after
        self.catch_up_pauses = catch_up_pauses
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
        catch_up: bool = True,
    ) -> httpx.Response:
        """The service's answer. With ``catch_up``, a replica's "customer not found" for a
        customer the customer service knows is asked again after short pauses, then answered
        with a 503 (the Customer 360 turns it off: a part it lacks shows as absent at once)."""
        client = self._clients[service]
        path = checked_path(path)
        if timeout is None:
            timeout = self.read_timeout if method in ("GET", "HEAD") else self.write_timeout
        pauses = iter(self.catch_up_pauses)
        known = False
        while True:
            self._enter(service)
            try:
                response = await client.request(
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
            customer_id = _unknown_customer(service, response) if catch_up else None
            if customer_id is None:
                return response
            known = known or await self._customer_exists(customer_id, identity)
            if not known:
                return response  # not found anywhere: the 404 is the answer
            pause = next(pauses, None)
            if pause is None:
                raise not_yet_known(service, customer_id, self.retry_after)
            await asyncio.sleep(pause)

    async def _customer_exists(self, customer_id: str, identity: Identity) -> bool:
        """Whether the customer service, the master, knows the customer."""
        found = await self.call("customer", "GET", f"/customers/{customer_id}", identity)
        return found.status_code == 200

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
