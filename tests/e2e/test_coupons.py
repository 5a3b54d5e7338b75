"""Coupons through the gateway (seed 001): a promotion, a quick issue that shows in the Customer
360 view, redemption once (the same order again is a no-op, another order is refused), limits,
reservation during a checkout, expiry and cancellation in the Lapsed tab."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from devstack.probes import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


def promotion(code: str, **fields: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "code": code,
        "name": f"{code} promotion",
        "discount": {"kind": "percent", "value": "10"},
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_to": (now + timedelta(days=30)).isoformat(),
        **fields,
    }


async def member(gateway: httpx.AsyncClient) -> str:
    response = await gateway.post(
        "/api/customers",
        json={"first_name": "Cora", "last_name": "Pon", "email": f"{uuid.uuid4().hex}@ex.org"},
    )
    assert response.status_code == 201, response.text
    customer_id = response.json()["id"]

    async def enrolled() -> bool:
        return (await gateway.get(f"/api/members/{customer_id}")).status_code == 200

    await eventually(enrolled, what="enrollment")
    return customer_id


def code() -> str:
    return "C" + uuid.uuid4().hex[:8].upper()


async def test_quick_issue_then_redeem_once_and_the_tabs(gateway) -> None:
    cora = await member(gateway)
    promo = code()
    created = await gateway.post(
        "/api/coupons", json=promotion(promo, per_customer_limit=2, code_pattern="TEST-####-XXX")
    )
    assert created.status_code == 201, created.text
    assert (await gateway.post("/api/coupons", json=promotion(promo))).status_code == 409
    bad = await gateway.post(
        "/api/coupons", json=promotion(code(), discount={"kind": "percent", "value": "150"})
    )
    assert bad.status_code == 422

    issued = await gateway.post(f"/api/members/{cora}/coupons", json={"coupon": promo})
    assert issued.status_code == 201, issued.text
    coupon = issued.json()
    assert re.fullmatch(r"TEST-[2-9]{4}-[A-Z2-9]{3}", coupon["id"])
    weak = await gateway.post("/api/coupons", json=promotion(code(), code_pattern="WEAK-XX"))
    assert weak.status_code == 422
    assert coupon["tab"] == "active" and coupon["discount"] == {"kind": "percent", "value": "10"}
    view = (await gateway.get(f"/api/customers/{cora}/360")).json()
    assert [c["id"] for c in view["coupons"]["data"]["active"]] == [coupon["id"]]

    url = f"/api/members/{cora}/coupons/{coupon['id']}"
    first = await gateway.post(f"{url}/redeem", json={"order_id": "O-1"})
    assert first.status_code == 200 and first.json()["tab"] == "applied"
    same = await gateway.post(f"{url}/redeem", json={"order_id": "O-1"})
    assert same.status_code == 200 and same.json()["redeemed_at"] == first.json()["redeemed_at"]
    other = await gateway.post(f"{url}/redeem", json={"order_id": "O-2"})
    assert other.status_code == 409 and other.json()["type"].endswith("coupon-redeemed")
    cancel_redeemed = await gateway.post(f"{url}/cancel", json={"reason": "too late"})
    assert cancel_redeemed.status_code == 409

    second = (await gateway.post(f"/api/members/{cora}/coupons", json={"coupon": promo})).json()
    third = await gateway.post(f"/api/members/{cora}/coupons", json={"coupon": promo})
    assert third.status_code == 422 and third.json()["type"].endswith("per-customer-limit")
    cancelled = await gateway.post(
        f"/api/members/{cora}/coupons/{second['id']}/cancel", json={"reason": "issued twice"}
    )
    assert cancelled.status_code == 200 and cancelled.json()["tab"] == "lapsed"
    tabs = (await gateway.get(f"/api/members/{cora}/coupons")).json()
    assert ([c["id"] for c in tabs["applied"]], [c["id"] for c in tabs["lapsed"]]) == (
        [coupon["id"]],
        [second["id"]],
    )
    assert tabs["active"] == []
    unknown = await gateway.post(f"/api/members/{cora}/coupons", json={"coupon": "NOPE1"})
    assert unknown.status_code == 404


async def test_limits_delays_reservations_and_expiry(gateway) -> None:
    ann, bob = await member(gateway), await member(gateway)
    scarce = code()
    await gateway.post("/api/coupons", json=promotion(scarce, total_limit=1))
    coupons = [
        (await gateway.post(f"/api/members/{who}/coupons", json={"coupon": scarce})).json()
        for who in (ann, bob)
    ]
    won = await gateway.post(
        f"/api/members/{ann}/coupons/{coupons[0]['id']}/redeem", json={"order_id": "A-1"}
    )
    assert won.status_code == 200
    lost = await gateway.post(
        f"/api/members/{bob}/coupons/{coupons[1]['id']}/redeem", json={"order_id": "B-1"}
    )
    assert lost.status_code == 409 and lost.json()["type"].endswith("total-limit-reached")

    later = code()
    await gateway.post("/api/coupons", json=promotion(later, delay_days=3))
    delayed = (await gateway.post(f"/api/members/{ann}/coupons", json={"coupon": later})).json()
    early = await gateway.post(
        f"/api/members/{ann}/coupons/{delayed['id']}/redeem", json={"order_id": "A-2"}
    )
    assert early.status_code == 409 and early.json()["type"].endswith("coupon-not-yet-usable")

    held = code()
    await gateway.post("/api/coupons", json=promotion(held))
    coupon = (await gateway.post(f"/api/members/{bob}/coupons", json={"coupon": held})).json()
    url = f"/api/members/{bob}/coupons/{coupon['id']}"
    assert (await gateway.post(f"{url}/reserve", json={"checkout": "K-1"})).status_code == 200
    taken = await gateway.post(f"{url}/reserve", json={"checkout": "K-2"})
    assert taken.status_code == 409
    other_checkout = await gateway.post(
        f"{url}/redeem", json={"order_id": "B-2", "checkout": "K-2"}
    )
    assert other_checkout.status_code == 409
    mine = await gateway.post(f"{url}/redeem", json={"order_id": "B-2", "checkout": "K-1"})
    assert mine.status_code == 200 and mine.json()["state"] == "redeemed"

    past = code()
    now = datetime.now(UTC)
    expired = await gateway.post(
        "/api/coupons",
        json=promotion(
            past,
            valid_from=(now - timedelta(days=10)).isoformat(),
            valid_to=(now - timedelta(days=1)).isoformat(),
        ),
    )
    assert expired.status_code == 201
    refused = await gateway.post(f"/api/members/{ann}/coupons", json={"coupon": past})
    assert refused.status_code == 409 and refused.json()["type"].endswith("coupon-expired")
