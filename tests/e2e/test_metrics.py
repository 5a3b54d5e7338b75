"""Prometheus metrics through the real processes: every service answers /metrics, and one
request and the events it causes move the counters of the gateway, the customer service and a
consumer; a malformed record moves the dead-letter counter."""

from __future__ import annotations

import uuid

import httpx
import pytest
from devstack.probes import eventually
from devstack.services import SERVICES
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.e2e, pytest.mark.servers]

EVERY_SERVICE = {"cdp_http_requests", "cdp_http_request_duration_seconds", "cdp_events_published"}
CONSUMERS = {
    "cdp_consumer_batches",
    "cdp_consumer_lag",
    "cdp_consumer_batch_records",
    "cdp_consumer_batch_duration_seconds",
    "cdp_events_dead_lettered",
}


async def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_every_service_serves_its_metrics(platform) -> None:
    for name in SERVICES:
        async with httpx.AsyncClient(timeout=5) as client:
            text = (await client.get(f"{platform.url(name)}/metrics")).text
        families = {family.name for family in text_string_to_metric_families(text)}
        expected = EVERY_SERVICE | (CONSUMERS if name != "gateway" else set())
        assert expected <= families, (name, sorted(expected - families))


async def test_a_request_and_its_events_move_the_counters(platform, gateway, mdm) -> None:
    customer_events = platform.topic("customer.events")
    enrolling = platform.deployment.consumer_group_prefix + "loyalty-customers"
    before = {name: await scrape(platform.url(name)) for name in ("gateway", "customer", "loyalty")}

    response = await gateway.post(
        "/api/customers",
        json={"first_name": "Metric", "last_name": "Probe", "email": "probe@example.org"},
    )
    assert response.status_code == 201, response.text

    after = await scrape(platform.gateway_url)
    route = {"method": "POST", "route": "/api/customers"}
    for name, labels in (
        ("cdp_http_requests_total", {**route, "status": "201"}),
        ("cdp_http_request_duration_seconds_count", route),
    ):
        assert value(after, name, **labels) >= value(before["gateway"], name, **labels) + 1
    assert value(after, "cdp_http_request_duration_seconds_sum", **route) > value(
        before["gateway"], "cdp_http_request_duration_seconds_sum", **route
    )

    async def customer_moved() -> bool:
        now = await scrape(platform.url("customer"))
        was = before["customer"]
        return value(
            now, "cdp_http_requests_total", method="POST", route="/customers", status="201"
        ) > value(
            was, "cdp_http_requests_total", method="POST", route="/customers", status="201"
        ) and value(now, "cdp_events_published_total", topic=customer_events) > value(
            was, "cdp_events_published_total", topic=customer_events
        )

    await eventually(customer_moved, what="the customer service's request and event counters")

    async def consumer_moved() -> bool:
        now, was = await scrape(platform.url("loyalty")), before["loyalty"]
        processed = {"group": enrolling, "outcome": "processed"}
        return value(now, "cdp_consumer_batches_total", **processed) > value(
            was, "cdp_consumer_batches_total", **processed
        ) and value(now, "cdp_consumer_batch_records_sum", group=enrolling) > value(
            was, "cdp_consumer_batch_records_sum", group=enrolling
        )

    await eventually(consumer_moved, what="loyalty's batches of customer events")
    lags = [
        sample_value
        for (name, labels), sample_value in (await scrape(platform.url("loyalty"))).items()
        if name == "cdp_consumer_lag"
        and ("group", enrolling) in labels
        and ("topic", customer_events) in labels
    ]
    assert lags and all(lag >= 0 for lag in lags)


async def test_a_dead_lettered_record_is_counted(platform, mdm) -> None:
    topic = mdm.topic
    before = await scrape(platform.url("customer"))
    key = f"METRIC-{uuid.uuid4().hex[:8]}"
    await mdm.producer.send_and_wait(topic, b"\x00not json", key=key.encode())

    async def counted() -> bool:
        now = await scrape(platform.url("customer"))
        return value(now, "cdp_events_dead_lettered_total", topic=topic) > value(
            before, "cdp_events_dead_lettered_total", topic=topic
        ) and value(now, "cdp_events_published_total", topic=topic + ".dlt") > value(
            before, "cdp_events_published_total", topic=topic + ".dlt"
        )

    await eventually(counted, what="the dead-letter counters")
