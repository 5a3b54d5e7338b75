"""A customer's life through the gateway: edits with optimistic concurrency and their history,
suspension and voiding, and erasure everywhere (which a replay of old events does not undo)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from devstack.probes import committed_past, eventually, header, read_topic

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def create(gateway: httpx.AsyncClient, **fields: object) -> dict:
    body = {"first_name": "Ioana", "last_name": "Marin", "email": "ioana@example.org", **fields}
    response = await gateway.post("/api/customers", json=body)
    assert response.status_code == 201, response.text
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/api/customers/{response.json()['id']}"
    return response.json()


async def test_edits_need_the_current_version_and_are_recorded_in_the_history(gateway) -> None:
    customer = await create(gateway, fax="+40 21 000 0000")
    path = f"/api/customers/{customer['id']}"

    missing = await gateway.patch(path, json={"first_name": "Ana"})
    assert missing.status_code == 428 and missing.json()["field"] == "If-Match"

    edited = await gateway.patch(
        path, json={"first_name": "Ana", "fax": None}, headers={"If-Match": '"1"'}
    )
    assert edited.status_code == 200, edited.text
    assert edited.headers["etag"] == '"2"'
    assert edited.json()["first_name"] == "Ana" and edited.json()["fax"] is None

    stale = await gateway.patch(path, json={"last_name": "X"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2

    for patch, field in [
        ({"email": "nope"}, "email"),
        ({"shoe_size": 42}, "shoe_size"),
        ({"marital_status": "complicated"}, "marital_status"),
    ]:
        bad = await gateway.patch(path, json=patch, headers={"If-Match": '"2"'})
        assert bad.status_code == 422, bad.text
        assert [e["field"] for e in bad.json()["errors"]] == [field]
    assert (await gateway.get(path)).json()["version"] == 2, "a rejected edit writes nothing"

    async def history() -> list | None:
        page = (await gateway.get(f"{path}/history")).json()
        return page["items"] if len(page["items"]) == 2 else None

    newest, first = await eventually(history, what="two history entries")
    assert (newest["version"], newest["event"], newest["changed_by"]) == (
        2,
        "CustomerUpdated",
        "user:tester",
    )
    assert {c["field"]: (c["old"], c["new"]) for c in newest["changes"]} == {
        "first_name": ("Ioana", "Ana"),
        "fax": ("+40 21 000 0000", None),
    }
    assert first["event"] == "CustomerRegistered" and first["origin"] == "api"
    paged = (await gateway.get(f"{path}/history", params={"limit": 1})).json()
    assert [e["version"] for e in paged["items"]] == [2] and paged["next_before_version"] == 2
    rest = await gateway.get(f"{path}/history", params={"before_version": 2})
    assert [e["version"] for e in rest.json()["items"]] == [1]


async def test_suspend_void_and_reactivate(platform, gateway) -> None:
    customer = await create(gateway)
    path = f"/api/customers/{customer['id']}"

    suspended = await gateway.post(f"{path}/suspend")
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    void = await gateway.post(f"{path}/void", headers={"If-Match": '"2"'})
    assert void.json()["status"] == "void" and void.headers["etag"] == '"3"'

    no_edit = await gateway.patch(path, json={"first_name": "X"}, headers={"If-Match": '"3"'})
    assert no_edit.status_code == 409 and no_edit.json()["type"].endswith("customer-void")
    no_suspend = await gateway.post(f"{path}/suspend")
    assert no_suspend.status_code == 409
    stale = await gateway.post(f"{path}/reactivate", headers={"If-Match": '"2"'})
    assert stale.status_code == 409
    back = await gateway.post(f"{path}/reactivate")
    assert back.json()["status"] == "active" and back.json()["version"] == 4

    records = await read_topic(
        platform.deployment.servers.kafka_bootstrap_servers,
        platform.topic("customer.events"),
        until=lambda rs: sum(r.key == customer["id"].encode() for r in rs) >= 4,
    )
    assert [header(r, "ce_type") for r in records if r.key == customer["id"].encode()] == [
        "cdp.customer.CustomerRegistered",
        "cdp.customer.CustomerUpdated",
        "cdp.customer.CustomerDeactivated",
        "cdp.customer.CustomerUpdated",
    ]
    unknown = await gateway.post(f"/api/customers/{uuid.uuid4()}/suspend")
    assert unknown.status_code == 404


async def test_erasure_removes_the_customer_everywhere_and_a_replay_does_not_restore_it(
    platform, gateway
) -> None:
    bootstrap = platform.deployment.servers.kafka_bootstrap_servers
    customer = await create(gateway)
    path = f"/api/customers/{customer['id']}"

    async def enrolled() -> bool:
        return (await gateway.get(f"{path}/360")).json()["loyalty"]["status"] == "available"

    await eventually(enrolled, what="enrollment before the erasure")

    as_rep = await gateway.delete(path, headers=platform.auth(role="rep", teams=["north"]))
    assert as_rep.status_code == 403
    erased = await gateway.delete(path)
    assert erased.status_code == 204
    assert (await gateway.get(path)).status_code == 404
    assert (await gateway.get(f"{path}/360")).status_code == 404
    assert (await gateway.get(f"{path}/history")).status_code == 404
    assert (await gateway.delete(path)).status_code == 404

    async with httpx.AsyncClient(base_url=platform.url("loyalty"), headers=platform.auth()) as lo:

        async def member_gone() -> bool:
            return (await lo.get(f"/members/{customer['id']}")).status_code == 404

        await eventually(member_gone, what="loyalty forgetting the erased customer")

        # Replay the customer's registration, as a consumer reset or a republishing would.
        records = await read_topic(
            bootstrap,
            platform.topic("customer.events"),
            until=lambda rs: any(
                header(r, "ce_type") == "cdp.customer.CustomerErased"
                and r.key == customer["id"].encode()
                for r in rs
            ),
        )
        registration = next(
            r
            for r in records
            if r.key == customer["id"].encode()
            and header(r, "ce_type") == "cdp.customer.CustomerRegistered"
        )
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            sent = await producer.send_and_wait(
                registration.topic,
                registration.value,
                key=registration.key,
                headers=list(registration.headers),
            )
        finally:
            await producer.stop()

        group = platform.deployment.consumer_group_prefix + "loyalty-customers"
        await eventually(
            lambda: committed_past(bootstrap, group, sent.topic, sent.partition, sent.offset),
            what="loyalty consuming the replayed registration",
        )
        assert await member_gone(), "the replay enrolled an erased customer again"
    assert (await gateway.get(path)).status_code == 404


async def test_an_erased_mdm_customer_does_not_come_back_from_the_master(
    platform, gateway, mdm, find_by_mdm_code
) -> None:
    code = f"ERASE-{uuid.uuid4().hex[:8]}"
    await mdm.upsert(code, 1, first_name="Gone", last_name="Soon")
    customer = await eventually(lambda: find_by_mdm_code(code), what="the MDM customer")
    assert (await gateway.delete(f"/api/customers/{customer['id']}")).status_code == 204

    sent = await mdm.upsert(code, 2, first_name="Gone", last_name="Again")
    group = platform.deployment.consumer_group_prefix + "customer-mdm-ingest"
    await eventually(
        lambda: committed_past(
            platform.deployment.servers.kafka_bootstrap_servers,
            group,
            sent.topic,
            sent.partition,
            sent.offset,
        ),
        what="the MDM consumer passing the later upsert",
    )
    assert await find_by_mdm_code(code) is None
