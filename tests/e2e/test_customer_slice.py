"""The foundation slice through real processes, Kafka and the database:
gateway -> customer service -> CustomerRegistered -> loyalty enrollment -> Customer 360,
and MDM events from an outside producer (written with the CloudEvents SDK, not our code)."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from devstack.probes import eventually, header, read_topic

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def test_unauthenticated_calls_get_401_problem(platform) -> None:
    async with httpx.AsyncClient(base_url=platform.gateway_url) as anonymous:
        response = await anonymous.post("/api/customers", json={})
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert (await anonymous.get("/health")).status_code == 200
    # a service's own port does not trust the network either
    async with httpx.AsyncClient(base_url=platform.url("customer")) as direct:
        assert (await direct.get(f"/customers/{uuid.uuid4()}")).status_code == 401
        forged = {"authorization": "Bearer " + platform.token().rsplit(".", 1)[0] + ".forged"}
        assert (await direct.get(f"/customers/{uuid.uuid4()}", headers=forged)).status_code == 401


async def test_invalid_customer_gets_problem_details_naming_the_field(gateway) -> None:
    response = await gateway.post("/api/customers", json={"first_name": "Ana"})
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["status"] == 422
    assert {"field": "email,sms", "type": "contact_required"}.items() <= problem["errors"][
        0
    ].items()

    response = await gateway.post(
        "/api/customers", json={"first_name": "Ana", "email": "not-an-email", "unexpected": 1}
    )
    fields = {e["field"] for e in response.json()["errors"]}
    assert response.status_code == 422 and {"email", "unexpected"} <= fields


async def test_created_customer_is_enrolled_and_shows_in_the_360_view(platform, gateway) -> None:
    code = f"E2E-{uuid.uuid4().hex[:8]}"
    response = await gateway.post(
        "/api/customers",
        json={
            "salutation": "Dr.",
            "first_name": "Ana",
            "last_name": "Ionescu",
            "mdm_code": code,
            "email": "ana@example.org",
            "addresses": [
                {"line1": "1 Main St", "city": "Cluj", "brick": "BR-N01", "primary": True}
            ],
        },
    )
    assert response.status_code == 201, response.text
    customer = response.json()
    assert customer["version"] == 1 and customer["status"] == "active"

    async def enrolled() -> dict | None:
        view = (await gateway.get(f"/api/customers/{customer['id']}/360")).json()
        return view if view["loyalty"]["status"] == "available" else None

    view = await eventually(enrolled, what="loyalty enrollment in the 360 view")
    assert view["customer"]["email"] == "ana@example.org"
    assert view["customer"]["addresses"][0]["brick"] == "BR-N01"
    member = view["loyalty"]["data"]
    assert member["status"] == "active" and member["points_balance"] == 0
    assert len(member["referral_code"]) == 8

    duplicate = await gateway.post(
        "/api/customers", json={"first_name": "Other", "email": "o@example.org", "mdm_code": code}
    )
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "mdm_code"

    # the event on the wire is a CloudEvent in binary mode, keyed by customer id
    records = await read_topic(
        platform.deployment.servers.kafka_bootstrap_servers,
        platform.topic("customer.events"),
        until=lambda rs: any(r.key == customer["id"].encode() for r in rs),
    )
    record = next(r for r in records if r.key == customer["id"].encode())
    assert header(record, "ce_type") == "cdp.customer.CustomerRegistered"
    assert header(record, "ce_subject") == customer["id"]
    assert header(record, "content-type") == "application/json"
    assert json.loads(record.value)["customer"]["mdm_code"] == code


async def test_360_of_unknown_customer_is_404(gateway) -> None:
    response = await gateway.get(f"/api/customers/{uuid.uuid4()}/360")
    assert response.status_code == 404
    assert response.json()["type"].endswith("customer-not-found")


async def test_mdm_events_apply_idempotently_and_in_version_order(
    platform, gateway, mdm, find_by_mdm_code
) -> None:
    code = f"MDM-{uuid.uuid4().hex[:8]}"
    v2 = mdm.upsert_event(code, 2, first_name="Maria", last_name="Popescu", email="m2@example.org")
    await mdm.upsert(code, 1, first_name="Maria", last_name="P")
    await mdm.send(v2, code)
    await mdm.send(v2, code)  # the same event again
    await mdm.upsert(code, 1, first_name="Late", last_name="Old")
    marker = f"MDM-{uuid.uuid4().hex[:8]}"  # published last on the same key: once it is applied,
    await mdm.send(mdm.upsert_event(marker, 1, last_name="Marker"), code)  # all were

    await eventually(lambda: find_by_mdm_code(marker), what="the marker customer")
    customer = await find_by_mdm_code(code)
    assert customer is not None
    assert (customer["last_name"], customer["email"], customer["version"]) == (
        "Popescu",
        "m2@example.org",
        2,
    )

    records = await read_topic(
        platform.deployment.servers.kafka_bootstrap_servers,
        platform.topic("customer.events"),
        until=lambda rs: sum(r.key == customer["id"].encode() for r in rs) >= 2,
        timeout=5,
    )
    types = [header(r, "ce_type") for r in records if r.key == customer["id"].encode()]
    assert types == ["cdp.customer.CustomerRegistered", "cdp.customer.CustomerUpdated"]

    async def enrolled() -> bool:
        view = (await gateway.get(f"/api/customers/{customer['id']}/360")).json()
        return view["loyalty"]["status"] == "available"

    await eventually(enrolled, what="an MDM-created customer enrolled in loyalty")


async def test_malformed_mdm_events_are_dead_lettered_and_the_partition_keeps_flowing(
    platform, mdm, find_by_mdm_code
) -> None:
    topic = mdm.topic
    key = f"BAD-{uuid.uuid4().hex[:8]}"
    await mdm.producer.send_and_wait(
        topic, b"\x00not json", key=key.encode(), headers=[("ce_specversion", b"1.0")]
    )
    invalid = mdm.upsert_event(key, -5, first_name="Neg")  # a negative version is invalid
    await mdm.send(invalid, key)
    await mdm.upsert(key, 1, first_name="Good", last_name="Record")

    customer = await eventually(
        lambda: find_by_mdm_code(key), what="the valid event after two bad ones"
    )
    assert customer["first_name"] == "Good"

    dead = await read_topic(
        platform.deployment.servers.kafka_bootstrap_servers,
        topic + ".dlt",
        timeout=10,
        until=lambda rs: sum(r.key == key.encode() for r in rs) >= 2,
    )
    ours = [r for r in dead if r.key == key.encode()]
    assert len(ours) == 2
    assert ours[0].value == b"\x00not json"
    assert "missing CloudEvents header" in header(ours[0], "dlt_reason")
    assert header(ours[1], "ce_id") == invalid.get_id()
    assert "version" in header(ours[1], "dlt_reason")
    assert header(ours[1], "dlt_original_topic") == topic
