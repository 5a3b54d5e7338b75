"""One composition root shape for every service: what it connects to, and its HTTP app.

Nothing connects at import time. ``create_app`` builds the FastAPI app whose lifespan starts the
runtime (database, producer, outbox relays, batch jobs, then the consumers) and stops it in
reverse order.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit import auth, batch_jobs, faults, idempotency, metrics, problems
from servicekit import logging as cdp_logging
from servicekit.body_limits import BodyLimits
from servicekit.database import make_client
from servicekit.messaging import Publisher, make_broker
from servicekit.outbox import OutboxRelay
from servicekit.settings import ServiceSettings

log = cdp_logging.get_logger(__name__)
CORRELATION_HEADER = "x-correlation-id"
KINDS = {"json": "JSON bodies", "attachment": "attachments", "csv": "CSV uploads"}

Hook = Callable[["ServiceRuntime"], Awaitable[None]]


class ServiceRuntime:
    """The live connections of one service process."""

    def __init__(self, settings: ServiceSettings, *, consumes: bool = True) -> None:
        self.settings = settings
        self.mongo: AsyncMongoClient = make_client(settings)
        self.db: AsyncDatabase = self.mongo[settings.database_name]
        self.publisher = Publisher(settings)
        self.broker: KafkaBroker | None = make_broker(settings) if consumes else None
        self.relays: list[OutboxRelay] = []
        self.jobs = batch_jobs.BatchJobRunner(
            self.db[batch_jobs.COLLECTION], self.publisher, lease_seconds=settings.job_lease_seconds
        )
        self.started = False

    def relay_for(self, collection_name: str) -> OutboxRelay:
        relay = OutboxRelay(
            self.db[collection_name],
            self.publisher,
            sweep_seconds=self.settings.outbox_sweep_seconds,
            safety_sweep_seconds=self.settings.outbox_safety_sweep_seconds,
        )
        self.relays.append(relay)
        return relay

    async def start(self, on_start: Sequence[Hook] = ()) -> None:
        faults.arm(self.settings.fault_crash_at)
        await self.mongo.admin.command("ping")
        await self.publisher.start()
        for hook in on_start:
            await hook(self)
        for relay in self.relays:
            await relay.start()
        await self.jobs.create_indexes()
        await idempotency.create_indexes(self.db[idempotency.COLLECTION])
        await self.jobs.resume()
        if self.broker is not None and not self.settings.fault_consumers_paused:
            await self.broker.start()
        self.started = True
        log.info("service started", database=self.settings.database_name)

    async def stop(self, on_stop: Sequence[Hook] = ()) -> None:
        """Stop in reverse order of the start. Every step runs even if an earlier one fails (a
        job that would not stop must not leave the relays sweeping and the producer open); the
        first failure is raised at the end."""
        self.started = False
        steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = []
        if self.broker is not None:
            steps.append(("consumers", self.broker.stop))
        steps.append(("batch jobs", self.jobs.stop))
        steps += [("stop hook", lambda hook=hook: hook(self)) for hook in on_stop]  # type: ignore[misc]
        steps += [("outbox relay", relay.stop) for relay in self.relays]
        steps += [("producer", self.publisher.stop), ("database client", self.mongo.close)]
        failures: list[Exception] = []
        for name, step in steps:
            try:
                await step()
            except Exception as exc:
                log.exception("stopping failed", step=name)
                failures.append(exc)
        if failures:
            raise failures[0]
        log.info("service stopped")

    async def ready(self) -> dict[str, Any]:
        await self.mongo.admin.command("ping")
        return {"database": "ok", "consumers": "ok" if self.broker else "none"}


class CorrelationAndLimits:
    """ASGI middleware: a correlation id per request (echoed back), ``nosniff`` on every answer,
    and the request body limit of the route (Starlette has none by default), answered with a
    413 problem naming it. ``prefix`` is what the routes' paths carry before the services' own
    (the gateway's ``/api``)."""

    def __init__(self, app: ASGIApp, body_limits: BodyLimits, prefix: str = "") -> None:
        self.app = app
        self.body_limits = body_limits
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        cid = (
            headers.get(CORRELATION_HEADER.encode(), b"").decode()[:64]
            or cdp_logging.new_correlation_id()
        )
        token = cdp_logging.correlation_id.set(cid)
        path = scope.get("path", "")
        limit, kind = self.body_limits.of(scope.get("method", ""), path.removeprefix(self.prefix))
        too_large = problems.Problem(
            f"the request body exceeds {limit} bytes, the limit of {KINDS[kind]} on this route",
            status=413,
            code="payload-too-large",
            title="Payload too large",
            limit=limit,
        )
        try:
            length = headers.get(b"content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                await problems.problem_response(too_large)(scope, receive, send)
                return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise too_large
                return message

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message.setdefault("headers", [])
                    message["headers"].append((CORRELATION_HEADER.encode(), cid.encode()))
                    # answers are JSON, CSV or files: never let a browser guess another type
                    message["headers"].append((b"x-content-type-options", b"nosniff"))
                await send(message)

            await self.app(scope, limited_receive, send_with_id)
        finally:
            cdp_logging.correlation_id.reset(token)


def create_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    routers: Sequence[APIRouter] = (),
    on_start: Sequence[Hook] = (),
    on_stop: Sequence[Hook] = (),
) -> FastAPI:
    settings = runtime.settings
    cdp_logging.configure(settings.service_name, json=settings.log_json)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(on_start)
        yield
        await runtime.stop(on_stop)

    # a trailing slash is another path (404), not a 307 to the one without it
    app = FastAPI(title=title, lifespan=lifespan, redirect_slashes=False)
    app.state.settings = settings
    app.state.runtime = runtime
    problems.install(app)
    # added first, so it runs inside the body limit and the correlation id
    app.add_middleware(
        idempotency.IdempotentPosts,
        keys=runtime.db[idempotency.COLLECTION],
        verifier=auth.verifier(app),
        ttl_seconds=settings.idempotency_ttl_seconds,
        lease_seconds=settings.idempotency_lease_seconds,
    )
    app.add_middleware(CorrelationAndLimits, body_limits=settings.body_limits())
    metrics.install(app)
    for router in routers:
        app.include_router(router)
    idempotency.document(app)

    started = time.monotonic()

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "service": settings.service_name,
            "uptime_s": round(time.monotonic() - started, 1),
        }

    @app.get("/ready", tags=["ops"])
    async def ready(request: Request) -> JSONResponse:
        if not runtime.started:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            checks = await runtime.ready()
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "error": repr(exc)}, status_code=503)
        return JSONResponse({"status": "ready", **checks})

    return app


KEEP_ALIVE_SECONDS = 30


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run one service process; SIGTERM drains and stops it gracefully."""
    import uvicorn

    # What the imports and the app's wiring left lives as long as the process: moved out of the
    # collector's generations, each full collection no longer walks it again (about a tenth of
    # the MDM ingest path's Python CPU went to collections that found nothing there).
    gc.collect()
    gc.freeze()

    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        log_config=None,  # uvicorn's records through the handler servicekit.logging installs
        access_log=False,  # a request's path and query can carry personal data (?email=)
        timeout_graceful_shutdown=15,
        # Longer than clients keep an idle connection (httpx: 5 s, as uvicorn's default): with
        # equal timeouts a client may reuse a connection the server is closing (a ReadError).
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
