"""HTTP metrics label a request with its route's template, never the path it was called with,
and count an error the app raised as a 500."""

from __future__ import annotations

import httpx
from aiokafka import ConsumerRecord, TopicPartition
from fastapi import FastAPI
from prometheus_client import REGISTRY
from servicekit import metrics


def app() -> FastAPI:
    made = FastAPI()
    metrics.install(made)

    @made.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        if thing_id == "boom":
            raise RuntimeError("a bug")
        return {"id": thing_id}

    return made


def count(route: str, status: str) -> float:
    labels = {"method": "GET", "route": route, "status": status}
    return REGISTRY.get_sample_value("cdp_http_requests_total", labels) or 0.0


async def test_requests_are_counted_by_route_template_and_status() -> None:
    before = count("/things/{thing_id}", "200"), count("/things/{thing_id}", "500")
    unmatched = count(metrics.UNMATCHED_ROUTE, "404")
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for thing_id in ("a1", "b2", "c3"):
            assert (await client.get(f"/things/{thing_id}")).status_code == 200
        assert (await client.get("/things/boom")).status_code == 500
        assert (await client.get("/elsewhere/42")).status_code == 404
        exposition = (await client.get("/metrics")).text
    assert count("/things/{thing_id}", "200") == before[0] + 3
    assert count("/things/{thing_id}", "500") == before[1] + 1
    assert count(metrics.UNMATCHED_ROUTE, "404") == unmatched + 1
    assert 'route="/things/a1"' not in exposition and "/elsewhere/42" not in exposition
    assert "cdp_http_request_duration_seconds_bucket" in exposition


def test_metrics_stay_out_of_the_openapi() -> None:
    assert "/metrics" not in app().openapi()["paths"]


class Consumer:
    def __init__(self, ends: dict[tuple[str, int], int | None]) -> None:
        self.ends = ends

    def highwater(self, partition: TopicPartition) -> int | None:
        return self.ends[(partition.topic, partition.partition)]


def record(topic: str, partition: int, offset: int) -> ConsumerRecord:
    return ConsumerRecord(topic, partition, offset, 0, 0, None, b"", None, 0, 1, [])


def test_lag_is_each_partitions_end_less_the_batchs_last_record() -> None:
    group = "metrics-test-group"
    batch = [record("t", 0, 10), record("t", 0, 11), record("t", 2, 4), record("u", 0, 7)]
    metrics.observe_lag(group, Consumer({("t", 0): 20, ("t", 2): 5, ("u", 0): None}), batch)

    def lag(topic: str, partition: int) -> float | None:
        labels = {"group": group, "topic": topic, "partition": str(partition)}
        return REGISTRY.get_sample_value("cdp_consumer_lag", labels)

    assert lag("t", 0) == 20 - 12  # offsets 12..19 wait
    assert lag("t", 2) == 0
    assert lag("u", 0) is None  # no fetch has told the end yet: no figure rather than a guess
