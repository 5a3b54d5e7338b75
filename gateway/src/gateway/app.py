"""Composition root of the gateway."""

from __future__ import annotations

import contextlib
import json
import re
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from contracts.asyncapi import document as asyncapi_document
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from servicekit import auth, idempotency, metrics, problems
from servicekit import logging as cdp_logging
from servicekit.runtime import CorrelationAndLimits

from gateway import api, console, openapi_answers, sign_in, targeting
from gateway.rate_limit import RateLimit
from gateway.settings import GatewaySettings
from gateway.upstream import Upstreams


def build(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    cdp_logging.configure(settings.service_name, json=settings.log_json)
    urls = {
        "customer": settings.customer_url,
        "segmentation": settings.segmentation_url,
        "lists": settings.lists_url,
        "loyalty": settings.loyalty_url,
    }

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.upstreams = Upstreams(
            urls,
            settings.upstream_timeout_seconds,
            write_timeout=settings.write_timeout_seconds,
            max_in_flight=settings.max_in_flight_per_service,
            retry_after=settings.shed_retry_after_seconds,
        )
        yield
        await app.state.upstreams.close()

    app = FastAPI(
        title="Customer data platform",
        lifespan=lifespan,
        redirect_slashes=False,  # a trailing slash is another path (404), not a 307
        description="The one HTTP entry point. Every /api call needs a bearer token.",
    )
    app.state.settings = settings
    problems.install(app)
    app.add_middleware(
        RateLimit,
        verifier=auth.verifier(app),
        identity_per_second=settings.rate_limit_identity_per_second,
        identity_burst=settings.rate_limit_identity_burst,
        address_per_second=settings.rate_limit_address_per_second,
        address_burst=settings.rate_limit_address_burst,
    )
    # added last, so outermost: a 429 also gets the correlation id and nosniff
    app.add_middleware(
        CorrelationAndLimits, body_limits=settings.body_limits(), prefix=api.API_PREFIX
    )
    app.include_router(api.router)
    app.include_router(targeting.router)
    sign_in.install(app, settings)
    idempotency.document(app)  # the services honour the header; the gateway passes it on

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @app.get("/ready", tags=["ops"])
    async def ready() -> JSONResponse:
        states = await app.state.upstreams.readiness()
        ok = all(states.values())
        return JSONResponse(
            {"status": "ready" if ok else "degraded", "services": states},
            status_code=200 if ok else 503,
        )

    # encoded once: it changes only with the code (and this deployment's topic prefix)
    events_document = json.dumps(asyncapi_document(settings.topic_prefix)).encode()

    @app.get(
        "/asyncapi.json",
        tags=["ops"],
        summary="The AsyncAPI 3 document of every topic",
        response_class=Response,
        responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
    )
    async def events() -> Response:
        """Every Kafka topic: its events' CloudEvents headers, key and payload schemas, who
        publishes and which consumer groups read it (no token, like ``/openapi.json``)."""
        return Response(events_document, media_type="application/json")

    metrics.install(app)
    app.openapi = _unique_operation_ids(app.openapi)  # type: ignore[method-assign]
    if settings.console_dir:
        console.install(app, Path(settings.console_dir))  # last: every route above wins

    return app


def _unique_operation_ids(
    openapi: Callable[[], dict[str, Any]],
) -> Callable[[], dict[str, Any]]:
    """FastAPI names a route's operations after its first method, so a pass-through route with
    several methods repeats one id; ids must be unique (generated clients are keyed by them):
    each repeated one is renamed after its own method."""

    def unique() -> dict[str, Any]:
        with warnings.catch_warnings():  # FastAPI warns about the repeats we mend below
            warnings.simplefilter("ignore", UserWarning)
            schema = openapi()
        operations = [op for ops in schema["paths"].values() for op in ops.values()]
        counts: dict[str, int] = {}
        for op in operations:
            counts[op["operationId"]] = counts.get(op["operationId"], 0) + 1
        for ops in schema["paths"].values():
            for method, op in ops.items():
                if counts[op["operationId"]] > 1:
                    op["operationId"] = re.sub(r"_[a-z]+$", f"_{method}", op["operationId"])
        return openapi_answers.declare(schema)

    return unique
