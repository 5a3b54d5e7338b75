"""Seed 001's loyalty use cases over real processes, Kafka and the database: a purchase event from
a commerce system (written with the CloudEvents SDK) earns points and shows in the metrics and the
Customer 360 view; a duplicate earns nothing; adjustments are bounded and recorded with their
actor; a transfer moves the purchase and its points; a suspended customer leaves the program."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from cloudevents.core.bindings.kafka import to_binary_event
from cloudevents.core.v1.event import CloudEvent
from devstack.probes import eventually, header, read_topic

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


def purchase_event(order_id: str, customer_id: str, lines: list[dict[str, Any]]) -> CloudEvent:
    return CloudEvent(
        attributes={
            "type": "cdp.commerce.PurchaseMade",
            "source": "pos/store-12",
            "id": str(uuid.uuid4()),
            "subject": customer_id,
            "datacontenttype": "application/json",
        },
        data={
            "order_id": order_id,
            "customer_id": customer_id,
            "lines": lines,
            "currency": "EUR",
            "purchased_at": "2026-11-20T10:30:00Z",
            "store": "Store 12",
        },
    )


async def member(gateway: httpx.AsyncClient, customer_id: str) -> dict[str, Any]:
    async def enrolled() -> dict | None:
        response = await gateway.get(f"/api/members/{customer_id}")
        return response.json() if response.status_code == 200 else None

    return await eventually(enrolled, what=f"{customer_id} enrolled")


async def new_member(gateway: httpx.AsyncClient) -> dict[str, Any]:
    response = await gateway.post(
        "/api/customers",
        json={"first_name": "Lia", "last_name": "Buyer", "email": f"{uuid.uuid4().hex}@ex.org"},
    )
    assert response.status_code == 201, response.text
    customer = response.json()
    await member(gateway, customer["id"])
    return customer


async def test_a_purchase_event_earns_points_once_and_shows_in_the_360_view(
    platform, gateway
) -> None:
    lia = await new_member(gateway)
    producer = AIOKafkaProducer(
        bootstrap_servers=platform.deployment.servers.kafka_bootstrap_servers, acks="all"
    )
    await producer.start()
    order = f"O-{uuid.uuid4().hex[:10]}"
    lines = [
        {"product": "Running shoes", "category": "Footwear", "quantity": 1, "amount": "89.90"},
        {"product": "Socks", "category": "Apparel", "quantity": 3, "amount": "12.50"},
    ]
    try:
        for _ in range(2):  # the same order twice: a duplicate earns nothing
            message = to_binary_event(purchase_event(order, lia["id"], lines))
            await producer.send_and_wait(
                platform.topic("commerce.purchases"),
                message.value,
                key=lia["id"].encode(),
                headers=list(message.headers.items()),
            )
        bad = to_binary_event(purchase_event("O-bad", lia["id"], []))
        await producer.send_and_wait(
            platform.topic("commerce.purchases"),
            bad.value,
            key=b"x",
            headers=list(bad.headers.items()),
        )
    finally:
        await producer.stop()

    async def earned() -> dict | None:
        summary = (await gateway.get(f"/api/members/{lia['id']}")).json()
        return summary if summary["points_balance"] > 0 else None

    summary = await eventually(earned, what="points from the purchase event")
    dead = await read_topic(
        platform.deployment.servers.kafka_bootstrap_servers,
        platform.topic("commerce.purchases.dlt"),
        until=lambda records: any(r.key == b"x" for r in records),
    )
    poison = next(r for r in dead if r.key == b"x")
    assert "lines" in (header(poison, "dlt_reason") or "")
    assert summary["points_balance"] == 102  # 102.40 EUR at 1 point per unit, rounded down
    metrics = summary["metrics"]
    assert (metrics["lifetime_spend"], metrics["orders"]) == ("102.40", 1)
    assert metrics["top_categories"][0]["category"] == "Footwear"
    view = (await gateway.get(f"/api/customers/{lia['id']}/360")).json()
    assert view["loyalty"]["data"]["points_balance"] == 102
    assert view["purchases"]["data"]["items"][0]["order_id"] == order
    assert {"segments", "lists", "timeline"} <= set(view)

    # The same order through the API is answered with the first recording, and earns nothing
    again = await gateway.post(
        "/api/purchases",
        json={
            "order_id": order,
            "customer_id": lia["id"],
            "lines": lines,
            "purchased_at": "2026-11-20T10:30:00Z",
        },
    )
    assert again.status_code == 200, again.text
    stray = await gateway.post(
        "/api/purchases",
        json={
            "order_id": "O-x",
            "customer_id": lia["id"],
            "lines": lines,
            "purchased_at": "2026-11-20T10:30:00Z",
            "discount_code": "X",
        },
    )
    assert stray.status_code == 422 and stray.json()["errors"][0]["field"] == "discount_code"
    assert (await gateway.get(f"/api/members/{lia['id']}")).json()["points_balance"] == 102

    # Adjustments: bounded, never below zero, recorded with the actor
    path = f"/api/members/{lia['id']}/adjustments"
    for points, status in ((0, 422), (10_000_000, 422), (-500, 409)):
        response = await gateway.post(path, json={"points": points, "reason": "goodwill"})
        assert response.status_code == status, response.text
    rep = platform.auth(user="rep1", role="rep")
    assert (
        await gateway.post(path, json={"points": 5, "reason": "nice"}, headers=rep)
    ).status_code == 403
    manager = platform.auth(user="meg", role="manager")
    adjusted = await gateway.post(
        path, json={"points": 50, "reason": "late delivery"}, headers=manager
    )
    assert adjusted.status_code == 201, adjusted.text
    assert adjusted.json()["points_balance"] == 152 and adjusted.json()["actor"] == "user:meg"
    ledger = (await gateway.get(f"/api/members/{lia['id']}/ledger")).json()["items"]
    assert [e["kind"] for e in ledger] == ["adjust", "earn"]

    # Redemption spends points, once per order; never more than the active points
    spend = f"/api/members/{lia['id']}/redemptions"
    for _ in range(2):
        redeemed = await gateway.post(spend, json={"points": 30, "order_id": "X-1"})
        assert redeemed.status_code == 201, redeemed.text
        assert redeemed.json()["points_balance"] == 122
    too_much = await gateway.post(spend, json={"points": 10_000})
    assert too_much.status_code == 409 and too_much.json()["type"].endswith("insufficient-points")
    points = (await gateway.get(f"/api/members/{lia['id']}")).json()["points"]
    assert (points["active"], points["spent"], points["pending"]) == (122, 30, 0)

    # Transfer the purchase: its points move with it
    ion = await new_member(gateway)
    moved = await gateway.post(
        f"/api/purchases/{order}/transfer",
        json={"to_customer_id": ion["id"], "reason": "bought for his account"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["customer_id"] == ion["id"]
    assert (await gateway.get(f"/api/members/{lia['id']}")).json()["points_balance"] == 20
    assert (await gateway.get(f"/api/members/{ion['id']}")).json()["points_balance"] == 102
    back_to_self = await gateway.post(
        f"/api/purchases/{order}/transfer",
        json={"to_customer_id": ion["id"], "reason": "again"},
    )
    assert back_to_self.status_code == 422
    missing = await gateway.post(
        "/api/purchases/O-none/transfer", json={"to_customer_id": ion["id"], "reason": "x y z"}
    )
    assert missing.status_code == 404

    # A return takes the points back from the purchase's owner, once
    for _ in range(2):
        returned = await gateway.post(f"/api/purchases/{order}/return", json={"reason": "size"})
        assert returned.status_code == 200, returned.text
    ion_now = (await gateway.get(f"/api/members/{ion['id']}")).json()
    assert ion_now["points_balance"] == 0 and ion_now["metrics"]["orders"] == 0
    refused = await gateway.post(
        f"/api/purchases/{order}/transfer", json={"to_customer_id": lia["id"], "reason": "back"}
    )
    assert refused.status_code == 409 and refused.json()["type"].endswith("purchase-returned")


async def test_a_suspended_customer_leaves_the_program_and_earns_nothing(gateway) -> None:
    dan = await new_member(gateway)
    suspended = await gateway.post(f"/api/customers/{dan['id']}/suspend")
    assert suspended.status_code == 200, suspended.text

    async def left() -> bool:
        return (await gateway.get(f"/api/members/{dan['id']}")).json()["status"] == "left"

    await eventually(left, what="the suspended customer leaving the program")
    order = f"O-{uuid.uuid4().hex[:10]}"
    recorded = await gateway.post(
        "/api/purchases",
        json={
            "order_id": order,
            "customer_id": dan["id"],
            "purchased_at": "2026-11-21T09:00:00Z",
            "lines": [{"product": "Tent", "category": "Outdoor", "amount": "250.00"}],
        },
    )
    assert recorded.status_code == 201, recorded.text
    summary = (await gateway.get(f"/api/members/{dan['id']}")).json()
    assert summary["points_balance"] == 0 and summary["metrics"]["orders"] == 1
    adjust = await gateway.post(
        f"/api/members/{dan['id']}/adjustments", json={"points": 10, "reason": "goodwill"}
    )
    assert adjust.status_code == 409
    reactivated = await gateway.post(f"/api/customers/{dan['id']}/reactivate")
    assert reactivated.status_code == 200

    async def back() -> bool:
        return (await gateway.get(f"/api/members/{dan['id']}")).json()["status"] == "active"

    await eventually(back, what="the reactivated customer back in the program")


async def test_rfm_stars_reach_the_view_and_dynamic_segments(platform, gateway) -> None:
    """RFM is scored over every member with purchases; the stars show in the member and reach a
    segment whose rule reads them, with no call but the run."""
    code = f"rfm-{uuid.uuid4().hex[:6]}"
    top_spenders = {
        "code": code,
        "name": "Best customers",
        "segments": [
            {
                "code": "champions",
                "name": "Champions",
                "rule": {"field": "loyalty.rfm_monetary", "op": "gte", "value": 5},
            }
        ],
    }
    assert (await gateway.post("/api/segmentations", json=top_spenders)).status_code == 201
    spenders = [await new_member(gateway) for _ in range(5)]
    for rank, spender in enumerate(spenders, start=1):
        response = await gateway.post(
            "/api/purchases",
            json={
                "order_id": f"R-{uuid.uuid4().hex[:10]}",
                "customer_id": spender["id"],
                "purchased_at": "2026-11-22T12:00:00Z",
                "lines": [{"product": "Gift", "category": "Gifts", "amount": f"{rank * 1000}"}],
            },
        )
        assert response.status_code == 201, response.text
    run = await gateway.post("/api/rfm/runs")
    assert run.status_code == 201, run.text
    assert run.json()["customers"] >= 5 and len(run.json()["thresholds"]["monetary"]) == 4
    best = spenders[-1]["id"]
    stars = (await gateway.get(f"/api/members/{best}")).json()["rfm"]
    assert stars["monetary"] == 5 and stars["version"] == run.json()["version"]

    async def segmented() -> bool:
        profile = await gateway.get(f"/api/profiles/{best}")
        return (
            profile.status_code == 200
            and profile.json()["segmentations"].get(code, {}).get("segment") == "champions"
        )

    await eventually(segmented, what="the RFM stars reaching the segment")
    least = (await gateway.get(f"/api/profiles/{spenders[0]['id']}")).json()
    assert least["segmentations"].get(code, {}).get("segment") is None
    view = (await gateway.get(f"/api/customers/{best}/360")).json()
    assert view["loyalty"]["data"]["rfm"]["monetary"] == 5
    latest = (await gateway.get("/api/rfm/runs/latest")).json()
    assert latest["version"] >= run.json()["version"]


async def test_nps_and_communications_from_marketing_systems_show_in_the_view(
    platform, gateway
) -> None:
    eve = await new_member(gateway)
    producer = AIOKafkaProducer(
        bootstrap_servers=platform.deployment.servers.kafka_bootstrap_servers, acks="all"
    )
    facts = [
        (
            "feedback.responses",
            "cdp.feedback.FeedbackGiven",
            {
                "response_id": "R-1",
                "customer_id": eve["id"],
                "nps": 6,
                "given_at": "2026-10-01T10:00:00Z",
            },
        ),
        (
            "feedback.responses",
            "cdp.feedback.FeedbackGiven",
            {
                "response_id": "R-2",
                "customer_id": eve["id"],
                "nps": 9,
                "comment": "Great staff",
                "given_at": "2026-11-01T10:00:00Z",
            },
        ),
        (
            "campaign.communications",
            "cdp.campaign.CommunicationSent",
            {
                "communication_id": "M-1",
                "customer_id": eve["id"],
                "channel": "email",
                "campaign": "Winter sale",
                "subject": "30% off",
                "sent_at": "2026-11-10T08:00:00Z",
            },
        ),
    ]
    await producer.start()
    try:
        for topic, kind, data in [*facts, facts[2]]:  # the last one twice: a duplicate
            event = CloudEvent(
                attributes={"type": kind, "source": "marketing", "id": str(uuid.uuid4())},
                data=data,
            )
            message = to_binary_event(event)
            await producer.send_and_wait(
                platform.topic(topic),
                message.value,
                key=eve["id"].encode(),
                headers=list(message.headers.items()),
            )
    finally:
        await producer.stop()

    async def heard() -> dict | None:
        view = (await gateway.get(f"/api/customers/{eve['id']}/360")).json()
        sent = view["communications"]["data"]["items"]
        nps = view["loyalty"]["data"]["metrics"]["last_nps"]
        return view if sent and nps and nps["nps"] == 9 else None

    view = await eventually(heard, what="NPS and communications in the 360 view")
    assert view["loyalty"]["data"]["metrics"]["last_nps"]["comment"] == "Great staff"
    sent = view["communications"]["data"]["items"]
    assert [(c["campaign"], c["channel"]) for c in sent] == [("Winter sale", "email")]
    log = (await gateway.get(f"/api/members/{eve['id']}/communications")).json()["items"]
    assert len(log) == 1

    # The 360 timeline merges interactions and loyalty history, newest first, page by page
    note = await gateway.post(f"/api/customers/{eve['id']}/notes", json={"text": "Called back"})
    assert note.status_code == 201, note.text
    path = f"/api/customers/{eve['id']}/360/timeline"
    first = (await gateway.get(path, params={"limit": 2})).json()
    assert [i["source"] for i in first["items"]] == ["customer", "loyalty"]
    assert first["items"][1]["kind"] == "enrollment" and first["next_before"]
    rest = (await gateway.get(path, params={"limit": 50, "before": first["next_before"]})).json()
    assert [i["kind"] for i in rest["items"]] == ["communication"] and rest["next_before"] is None
    view = (await gateway.get(f"/api/customers/{eve['id']}/360")).json()
    assert [i["kind"] for i in view["timeline"]["data"]["items"]][-1] == "communication"


async def test_tiers_rise_with_purchases_and_are_set_by_hand(platform, gateway) -> None:
    gus = await new_member(gateway)
    bought = await gateway.post(
        "/api/purchases",
        json={
            "order_id": f"T-{uuid.uuid4().hex[:10]}",
            "customer_id": gus["id"],
            "purchased_at": "2026-11-22T12:00:00Z",
            "lines": [{"product": "Bike", "category": "Sport", "amount": "1200.00"}],
        },
    )
    assert bought.status_code == 201, bought.text
    member = (await gateway.get(f"/api/members/{gus['id']}")).json()
    assert (member["tier"], member["tier_points"]) == ("silver", 1200)
    assert member["next_tier"] == {"tier": "gold", "points_needed": 3800}
    assert member["tier_history"][-1]["reason"] == "qualified"

    manager = platform.auth(user="meg", role="manager")
    path = f"/api/members/{gus['id']}/tier"
    bad = await gateway.post(path, json={"tier": "platinum", "reason": "vip"}, headers=manager)
    assert bad.status_code == 422
    gold = await gateway.post(path, json={"tier": "gold", "reason": "vip event"}, headers=manager)
    assert gold.status_code == 200 and gold.json()["tier"] == "gold"
    assert gold.json()["tier_history"][-1]["actor"] == "user:meg"

    # A reassessment moves a member not qualifying any more down one level
    reassessed = await gateway.post("/api/tiers/reassessments", headers=manager)
    assert reassessed.status_code == 201, reassessed.text
    assert (await gateway.get(f"/api/members/{gus['id']}")).json()["tier"] == "silver"


async def test_an_edit_in_the_360_view_reaches_dynamic_segments(gateway) -> None:
    """Seed 001's FAQ: a changed mobile number reaches every dynamic segment using it."""
    code = f"mobile-{uuid.uuid4().hex[:6]}"
    definition = {
        "code": code,
        "name": "Reachable by SMS",
        "segments": [
            {"code": "sms", "name": "SMS", "rule": {"field": "customer.sms", "op": "exists"}}
        ],
    }
    assert (await gateway.post("/api/segmentations", json=definition)).status_code == 201
    hal = await new_member(gateway)
    current = (await gateway.get(f"/api/customers/{hal['id']}")).json()
    edited = await gateway.patch(
        f"/api/customers/{hal['id']}",
        json={"sms": "+40 722 000 111"},
        headers={"if-match": f'"{current["version"]}"'},
    )
    assert edited.status_code == 200, edited.text

    async def segmented() -> bool:
        view = (await gateway.get(f"/api/customers/{hal['id']}/360")).json()
        part = view["segments"]
        return (
            part["status"] == "available"
            and part["data"]["segmentations"].get(code, {}).get("segment") == "sms"
        )

    await eventually(segmented, what="the new mobile number reaching the segment")


async def test_referrals_move_from_invited_to_purchased_and_reward_both(gateway) -> None:
    rita = await new_member(gateway)
    friend_email = f"friend-{uuid.uuid4().hex[:8]}@example.org"
    invited = await gateway.post(
        f"/api/members/{rita['id']}/referrals", json={"email": friend_email}
    )
    assert invited.status_code == 201, invited.text
    again = await gateway.post(f"/api/members/{rita['id']}/referrals", json={"email": friend_email})
    assert again.status_code == 409

    created = await gateway.post(
        "/api/customers", json={"first_name": "Fred", "last_name": "Friend", "email": friend_email}
    )
    assert created.status_code == 201, created.text
    fred = created.json()
    await member(gateway, fred["id"])

    async def status() -> str:
        summary = (await gateway.get(f"/api/members/{rita['id']}/referrals")).json()
        return summary["referrals"][0]["status"]

    await eventually(lambda: _is(status, "registered"), what="the invitation turning registered")
    bought = await gateway.post(
        "/api/purchases",
        json={
            "order_id": f"F-{uuid.uuid4().hex[:10]}",
            "customer_id": fred["id"],
            "purchased_at": "2026-11-22T12:00:00Z",
            "lines": [{"product": "Hat", "category": "Apparel", "amount": "20.00"}],
        },
    )
    assert bought.status_code == 201
    summary = (await gateway.get(f"/api/members/{rita['id']}/referrals")).json()
    assert summary["referrals"][0]["status"] == "purchased"
    assert (summary["count"], summary["points_earned"]) == (1, 100)
    assert (await gateway.get(f"/api/members/{fred['id']}")).json()["points_balance"] == 70
    view = (await gateway.get(f"/api/customers/{rita['id']}/360")).json()
    assert view["referrals"]["data"]["referral_code"] == summary["referral_code"]

    # Claiming a code: once, never one's own, never an unknown one
    nell = await new_member(gateway)
    path = f"/api/members/{nell['id']}/referred-by"
    assert (await gateway.post(path, json={"code": "ZZZZZZZZ"})).status_code == 404
    own = (await gateway.get(f"/api/members/{nell['id']}")).json()["referral_code"]
    assert (await gateway.post(path, json={"code": own})).status_code == 422
    claimed = await gateway.post(path, json={"code": summary["referral_code"]})
    assert claimed.status_code == 201, claimed.text
    assert (await gateway.post(path, json={"code": summary["referral_code"]})).status_code == 409
    assert (await gateway.get(f"/api/members/{rita['id']}/referrals")).json()["count"] == 2


async def _is(read, expected: str) -> bool:
    return await read() == expected
