"""Who may record a purchase, and within which bounds (issue 13): the commerce systems' service
identity, a manager or an admin, on the gateway and on the loyalty service's own port; a rep is
refused. A purchase beyond the bounds (settings) or for a non-member is refused on the API (422
naming the field, 404) and dead-lettered on commerce.purchases with the reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from cloudevents.core.bindings.kafka import to_binary_event
from cloudevents.core.v1.event import CloudEvent
from devstack.probes import eventually, header, read_topic

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


def purchase(customer_id: str, amount: str = "20.00", **changes: Any) -> dict[str, Any]:
    return {
        "order_id": f"P-{uuid.uuid4().hex[:10]}",
        "customer_id": customer_id,
        "purchased_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "lines": [{"product": "Hat", "category": "Apparel", "amount": amount}],
        **changes,
    }


async def new_member(gateway: httpx.AsyncClient) -> str:
    created = await gateway.post(
        "/api/customers",
        json={"first_name": "Pia", "last_name": "Shop", "email": f"{uuid.uuid4().hex}@ex.org"},
    )
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]

    async def enrolled() -> bool:
        return (await gateway.get(f"/api/members/{customer_id}")).status_code == 200

    await eventually(enrolled, what="the customer enrolled")
    return customer_id


async def test_only_commerce_a_manager_or_an_admin_record_a_purchase(platform, gateway) -> None:
    customer_id = await new_member(gateway)
    rep = platform.auth(user="ria", role="rep", teams=["north"])
    manager = platform.auth(user="mia", role="manager", teams=["north"])
    commerce = platform.service_auth("commerce")
    for base in (platform.gateway_url + "/api", platform.url("loyalty")):
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            refused = await client.post("/purchases", json=purchase(customer_id), headers=rep)
            assert refused.status_code == 403, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            for allowed in (commerce, manager):
                done = await client.post("/purchases", json=purchase(customer_id), headers=allowed)
                assert done.status_code == 201, done.text
    summary = (await gateway.get(f"/api/members/{customer_id}")).json()
    assert summary["metrics"]["orders"] == 4 and summary["points_balance"] == 80

    # The commerce identity records purchases and nothing else: the routes of people refuse it
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=10) as client:
        for path in (f"/api/customers/{customer_id}", f"/api/members/{customer_id}"):
            assert (await client.get(path, headers=commerce)).status_code == 403


async def test_a_purchase_beyond_the_bounds_or_for_no_member_is_refused(platform, gateway) -> None:
    customer_id = await new_member(gateway)
    commerce = platform.service_auth("commerce")
    too_much = purchase(customer_id, amount="60000.00")  # a line beyond 50,000
    many = purchase(
        customer_id,
        lines=[{"product": "Pen", "category": "Office", "amount": "1.00", "quantity": 5000}],
    )
    future = purchase(customer_id, purchased_at=(datetime.now(UTC) + timedelta(days=2)).isoformat())
    ancient = purchase(customer_id, purchased_at="2001-01-01T00:00:00Z")
    cases = [
        (too_much, "lines.0.amount"),
        (many, "lines.0.quantity"),
        (future, "purchased_at"),
        (ancient, "purchased_at"),
    ]
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=10) as client:
        for body, field in cases:
            refused = await client.post("/api/purchases", json=body, headers=commerce)
            assert refused.status_code == 422, refused.text
            assert [e["field"] for e in refused.json()["errors"]] == [field]
        stranger = await client.post(
            "/api/purchases", json=purchase(f"nobody-{uuid.uuid4().hex}"), headers=commerce
        )
        assert stranger.status_code == 404 and stranger.json()["field"] == "customer_id"
    summary = (await gateway.get(f"/api/members/{customer_id}")).json()
    assert summary["points_balance"] == 0 and summary["metrics"]["orders"] == 0

    # The same purchases on the topic go to its dead-letter topic, with the reason
    ghost = f"nobody-{uuid.uuid4().hex}"
    sent = [(too_much, "lines.0.amount"), (future, "purchased_at"), (purchase(ghost), ghost)]
    producer = AIOKafkaProducer(
        bootstrap_servers=platform.deployment.servers.kafka_bootstrap_servers, acks="all"
    )
    await producer.start()
    try:
        for body, _ in sent:
            event = CloudEvent(
                attributes={
                    "type": "cdp.commerce.PurchaseMade",
                    "source": "pos/store-12",
                    "id": str(uuid.uuid4()),
                    "subject": body["customer_id"],
                    "datacontenttype": "application/json",
                },
                data=body,
            )
            message = to_binary_event(event)
            await producer.send_and_wait(
                platform.topic("commerce.purchases"),
                message.value,
                key=body["order_id"].encode(),
                headers=list(message.headers.items()),
            )
    finally:
        await producer.stop()
    keys = {body["order_id"].encode(): reason for body, reason in sent}
    dead = await read_topic(
        platform.deployment.servers.kafka_bootstrap_servers,
        platform.topic("commerce.purchases.dlt"),
        until=lambda records: keys.keys() <= {r.key for r in records},
    )
    for record in dead:
        if record.key in keys:
            assert keys[record.key] in (header(record, "dlt_reason") or ""), record
    summary = (await gateway.get(f"/api/members/{customer_id}")).json()
    assert summary["points_balance"] == 0 and summary["metrics"]["orders"] == 0
