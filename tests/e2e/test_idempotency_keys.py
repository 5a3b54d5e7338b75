"""Through the gateway: a POST that creates something, retried with the same Idempotency-Key,
has one effect and gets the first answer; the key is stored by the service that owns the
resource, per caller."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from devstack.probes import eventually
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


@pytest_asyncio.fixture(loop_scope="session")
async def customer_db(platform) -> AsyncIterator[AsyncDatabase]:
    client: AsyncMongoClient = AsyncMongoClient(
        platform.deployment.servers.mongodb_url, tz_aware=True
    )
    yield client[f"{platform.deployment.database_prefix}customer"]
    await client.close()


def person(email: str) -> dict[str, str]:
    return {"first_name": "Ida", "last_name": "Pavel", "email": email}


async def customers_with_email(gateway: httpx.AsyncClient, email: str) -> list[dict]:
    found = await gateway.get("/api/customers", params={"email": email})
    assert found.status_code == 200, found.text
    return found.json()["items"]


async def test_two_concurrent_posts_with_one_key_create_one_customer(gateway) -> None:
    email = f"ida.{uuid.uuid4().hex[:8]}@example.org"
    key = {"idempotency-key": uuid.uuid4().hex}
    first, second = await asyncio.gather(
        gateway.post("/api/customers", json=person(email), headers=key),
        gateway.post("/api/customers", json=person(email), headers=key),
    )
    statuses = sorted([first.status_code, second.status_code])
    assert statuses in ([201, 201], [201, 409]), (first.text, second.text)
    created = first if first.status_code == 201 else second
    if statuses == [201, 409]:
        busy = second if created is first else first
        assert busy.headers["content-type"] == "application/problem+json"
        assert busy.json()["type"].endswith("/idempotency-key-in-flight")
    assert len(await customers_with_email(gateway, email)) == 1

    again = await gateway.post("/api/customers", json=person(email), headers=key)
    assert again.status_code == 201, again.text
    assert again.json() == created.json()
    assert again.headers["etag"] == created.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(await customers_with_email(gateway, email)) == 1


async def test_a_key_reused_for_another_body_is_refused(gateway) -> None:
    key = {"idempotency-key": uuid.uuid4().hex}
    email = f"ida.{uuid.uuid4().hex[:8]}@example.org"
    first = await gateway.post("/api/customers", json=person(email), headers=key)
    assert first.status_code == 201, first.text
    other = await gateway.post("/api/customers", json=person("x" + email), headers=key)
    assert other.status_code == 422, other.text
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert other.json()["field"] == "Idempotency-Key"
    assert await customers_with_email(gateway, "x" + email) == []


async def test_keys_belong_to_the_caller(gateway, platform) -> None:
    key = {"idempotency-key": uuid.uuid4().hex}
    email = f"ida.{uuid.uuid4().hex[:8]}@example.org"
    mine = await gateway.post("/api/customers", json=person(email), headers=key)
    theirs = await gateway.post(
        "/api/customers",
        json=person(email),
        headers={**key, **platform.auth(user="someone-else", role="rep", teams=["north"])},
    )
    assert mine.status_code == theirs.status_code == 201, (mine.text, theirs.text)
    assert mine.json()["id"] != theirs.json()["id"]
    assert "idempotent-replayed" not in theirs.headers


async def test_a_key_in_flight_answers_409_and_an_expired_key_is_free(gateway, customer_db) -> None:
    keys = customer_db["idempotency_keys"]
    now = datetime.now(UTC)
    busy, old = uuid.uuid4().hex, uuid.uuid4().hex
    await keys.insert_many(
        [
            {
                "_id": f"user:tester\x1f{busy}",
                "fingerprint": "another request's",
                "claim": "c1",
                "state": "in-flight",
                "created_at": now,
                "expires_at": now + timedelta(hours=24),
                "lease_until": now + timedelta(minutes=10),
            },
            {  # past its 24 h, not yet removed (the dev/CI server expires no TTL index)
                "_id": f"user:tester\x1f{old}",
                "fingerprint": "another request's",
                "claim": "c2",
                "state": "done",
                "status": 201,
                "headers": [],
                "body": b"{}",
                "created_at": now - timedelta(hours=25),
                "expires_at": now - timedelta(hours=1),
                "lease_until": now - timedelta(hours=25),
            },
        ]
    )
    email = f"ida.{uuid.uuid4().hex[:8]}@example.org"
    refused = await gateway.post(
        "/api/customers", json=person(email), headers={"idempotency-key": busy}
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("/idempotency-key-in-flight")

    fresh = await gateway.post(
        "/api/customers", json=person(email), headers={"idempotency-key": old}
    )
    assert fresh.status_code == 201, fresh.text
    assert fresh.json()["email"] == email


async def test_relayed_creations_in_other_services_take_keys_too(gateway) -> None:
    """A static list (lists service, relayed by the gateway) and an attachment (a multipart
    upload, whose boundary differs per try)."""
    key = {"idempotency-key": uuid.uuid4().hex}
    name = f"idem-{uuid.uuid4().hex[:6]}"
    first = await gateway.post("/api/lists", json={"name": name}, headers=key)
    again = await gateway.post("/api/lists", json={"name": name}, headers=key)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json()["id"] == first.json()["id"]
    named = (await gateway.get("/api/lists", params={"name": name})).json()
    assert len(named["items"] if isinstance(named, dict) else named) == 1

    customer = (
        await gateway.post("/api/customers", json=person(f"a.{uuid.uuid4().hex[:8]}@example.org"))
    ).json()["id"]
    path = f"/api/customers/{customer}/attachments"
    upload = {"file": ("consent.pdf", b"%PDF-1.4 consent", "application/pdf")}
    key = {"idempotency-key": uuid.uuid4().hex}
    one = await gateway.post(path, files=upload, headers=key)
    two = await gateway.post(path, files=upload, headers=key)
    assert one.status_code == two.status_code == 201, (one.text, two.text)
    assert two.json() == one.json()
    listed = await gateway.get(f"/api/customers/{customer}/attachments")
    assert listed.status_code == 200, listed.text
    items = listed.json()
    assert len(items["items"] if isinstance(items, dict) else items) == 1


async def test_a_list_made_by_the_gateway_from_a_search_is_created_once(gateway) -> None:
    """The gateway's own flow (search, then create the list in the lists service) passes the
    key on: a retry gets the list created the first time."""
    name = f"idem-search-{uuid.uuid4().hex[:6]}"
    body = {
        "list": {"name": name, "usage": "mail"},
        "criteria": {"last_name": f"Nobody{uuid.uuid4().hex[:6]}"},
        "confirm_count": 0,
    }
    key = {"idempotency-key": uuid.uuid4().hex}
    first = await gateway.post("/api/lists/from-search", json=body, headers=key)
    again = await gateway.post("/api/lists/from-search", json=body, headers=key)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json()["list"]["id"] == first.json()["list"]["id"]
    named = (await gateway.get("/api/lists", params={"name": name})).json()
    assert len(named["items"] if isinstance(named, dict) else named) == 1


async def test_a_loyalty_adjustment_retried_with_its_key_is_applied_once(gateway) -> None:
    """An adjustment has no natural key of its own: without the header a retry would add the
    points twice."""
    customer = await gateway.post(
        "/api/customers", json=person(f"adj.{uuid.uuid4().hex[:8]}@example.org")
    )
    assert customer.status_code == 201, customer.text
    customer_id = customer.json()["id"]

    async def enrolled() -> bool:
        return (await gateway.get(f"/api/members/{customer_id}")).status_code == 200

    await eventually(enrolled, what="the customer enrolled in loyalty")
    path = f"/api/members/{customer_id}/adjustments"
    key = {"idempotency-key": uuid.uuid4().hex}
    answers = await asyncio.gather(
        *[gateway.post(path, json={"points": 40, "reason": "goodwill"}, headers=key) for _ in "ab"]
    )
    assert sorted(a.status_code for a in answers) in ([201, 201], [201, 409]), answers
    again = await gateway.post(path, json={"points": 40, "reason": "goodwill"}, headers=key)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    member = (await gateway.get(f"/api/members/{customer_id}")).json()
    assert member["points_balance"] == 40
