"""Purchase ingest stores a batch's purchases and their ledger entries as batched inserts with ids
derived from the order, and commits the offsets afterwards: a crash between the purchase insert
and the ledger insert, or after both and before the commit, redelivers the records and the points
are earned once.

The loyalty service is restarted with the crash armed on the purchase path; it SIGKILLs itself
there. In one case a manager's adjustment of the same member (another writer of the ledger) lands
before the redelivery (the service restarted with its consumers paused). After a normal restart
the ledger holds one earn entry for the order and the adjustment, nothing twice.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from contracts.commerce import PurchaseMade
from devstack.probes import eventually
from servicekit.faults import AFTER_STORE, BEFORE_COMMIT

pytestmark = [pytest.mark.e2e, pytest.mark.servers]
POINTS = {
    AFTER_STORE: f"{AFTER_STORE}:purchase_ingest",  # loyalty.handlers.PURCHASE_INGEST
    BEFORE_COMMIT: f"{BEFORE_COMMIT}:loyalty-purchases",  # its consumer group
}


async def publish_purchase(bootstrap: str, topic: str, order_id: str, customer_id: str) -> None:
    purchase = PurchaseMade.model_validate(
        {
            "order_id": order_id,
            "customer_id": customer_id,
            "lines": [{"product": "Boots", "category": "Footwear", "quantity": 1, "amount": "120"}],
            "currency": "EUR",
            "purchased_at": "2026-11-20T10:30:00Z",
            "store": "Store 12",
        }
    )
    envelope = purchase.envelope(source="pos/store-12", subject=customer_id)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, envelope.body(), key=customer_id.encode(), headers=envelope.headers()
        )
    finally:
        await producer.stop()


@pytest.mark.parametrize("adjust_between", [False, True], ids=["alone", "adjustment-between"])
@pytest.mark.parametrize("point", [AFTER_STORE, BEFORE_COMMIT])
async def test_crash_on_the_purchase_path_earns_the_points_once(
    platform, point, adjust_between
) -> None:
    bootstrap = platform.deployment.servers.kafka_bootstrap_servers
    async with httpx.AsyncClient(
        base_url=platform.gateway_url, headers=platform.auth(), timeout=10
    ) as gateway:
        created = await gateway.post(
            "/api/customers",
            json={"first_name": "Kim", "last_name": "Crash", "email": f"{uuid.uuid4().hex}@ex.org"},
        )
        customer_id = created.json()["id"]

        async def enrolled() -> bool:
            return (await gateway.get(f"/api/members/{customer_id}")).status_code == 200

        await eventually(enrolled, what="enrollment")
        order = f"O-{uuid.uuid4().hex[:10]}"
        process = platform.start("loyalty", {"CDP_FAULT_CRASH_AT": POINTS[point]})
        try:
            await publish_purchase(
                bootstrap, platform.topic("commerce.purchases"), order, customer_id
            )
            assert process.popen is not None and process.popen.wait(60) == -9
            if adjust_between:
                platform.start("loyalty", {"CDP_FAULT_CONSUMERS_PAUSED": "true"})
                adjusted = await gateway.post(
                    f"/api/members/{customer_id}/adjustments",
                    json={"points": 7, "reason": "goodwill"},
                )
                assert adjusted.status_code == 201, adjusted.text
        finally:
            platform.start("loyalty")  # a normal restart: the purchase is redelivered

        expected = {("earn", 120)} | ({("adjust", 7)} if adjust_between else set())

        async def ledger() -> list | None:
            items = (await gateway.get(f"/api/members/{customer_id}/ledger")).json()["items"]
            return items if {(e["kind"], e["points"]) for e in items} == expected else None

        entries = await eventually(ledger, what="the points of the purchase after the crash")
        assert sorted((e["kind"], e["points"]) for e in entries) == sorted(expected)
        assert [e["order_id"] for e in entries if e["kind"] == "earn"] == [order]
        purchases = (await gateway.get(f"/api/members/{customer_id}/purchases")).json()["items"]
        assert [p["order_id"] for p in purchases] == [order]
