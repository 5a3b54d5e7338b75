"""The process's Prometheus metrics (prometheus-client), served at ``/metrics``: HTTP requests by
route and status with their latency, consumed batches (size, time, outcome), records published
and dead-lettered per topic, documents awaiting the outbox relay, database commands' latency,
batch jobs' progress.
The metric objects live in prometheus-client's default registry, once per process; Prometheus
adds the service and pod as the scrape target's labels."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from aiokafka import ConsumerRecord, TopicPartition
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter(
    "cdp_http_requests", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_REQUEST_SECONDS = Histogram(
    "cdp_http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"]
)
BATCHES = Counter(
    "cdp_consumer_batches",
    "Batches consumed: processed (then committed) or rewound to retry after an outage",
    ["group", "outcome"],
)
BATCH_RECORDS = Histogram(
    "cdp_consumer_batch_records",
    "Records in a consumed batch",
    ["group"],
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2000, 5000),
)
BATCH_SECONDS = Histogram(
    "cdp_consumer_batch_duration_seconds",
    "Time to decode, apply and dead-letter one batch",
    ["group"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CONSUMER_LAG = Gauge(
    "cdp_consumer_lag",
    "Records after the last one this process committed, per partition (as of its last batch)",
    ["group", "topic", "partition"],
)
EVENTS_PUBLISHED = Counter(
    "cdp_events_published", "Records the broker acknowledged, per topic", ["topic"]
)
EVENTS_DEAD_LETTERED = Counter(
    "cdp_events_dead_lettered",
    "Consumed records sent to the dead-letter topic, per original topic",
    ["topic"],
)
OUTBOX_PENDING = Gauge(
    "cdp_outbox_documents_pending",
    "Documents holding events not yet published, per collection (as of the last sweep check)",
    ["collection"],
)
DB_COMMAND_SECONDS = Histogram(
    "cdp_db_command_duration_seconds",
    "Time the database took to answer a command, per command and outcome",
    ["command", "outcome"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
JOB_CHUNKS = Counter(
    "cdp_job_chunks", "Chunks batch jobs wrote, published and checkpointed, per kind", ["kind"]
)
JOB_ITEMS = Counter(
    "cdp_job_items",
    "What batch jobs' chunks counted (processed, changed, ...), per kind and counter",
    ["kind", "counter"],
)
JOBS_ENDED = Counter("cdp_jobs_ended", "Batch jobs ended, per kind and state", ["kind", "state"])
UNMATCHED_ROUTE = "unmatched"  # a path no route serves: one label, not one per path


class Highwaters(Protocol):
    def highwater(self, partition: TopicPartition) -> int | None: ...


def observe_lag(group: str, consumer: Highwaters, records: Sequence[ConsumerRecord]) -> None:
    """After a committed batch: each of its partitions' end (as the consumer's last fetch saw
    it) less the offset after the batch's last record there."""
    last: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic, record.partition)
        last[key] = max(last.get(key, -1), record.offset)
    for (topic, partition), offset in last.items():
        highwater = consumer.highwater(TopicPartition(topic, partition))
        if highwater is not None:
            CONSUMER_LAG.labels(group, topic, str(partition)).set(max(0, highwater - offset - 1))


class HttpMetrics:
    """ASGI middleware: counts and times each request under its route's template
    (``/customers/{customer_id}``), so a label never holds an id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless the app answers: an exception escaping becomes a 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
            method = scope["method"]
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_REQUEST_SECONDS.labels(method, route).observe(time.perf_counter() - started)


def install(app: FastAPI) -> None:
    """Count the app's requests and serve ``/metrics`` (left out of the OpenAPI)."""
    app.add_middleware(HttpMetrics)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
