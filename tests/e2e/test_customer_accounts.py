"""Seed 003: a person belongs to an account (a customer of kind account), and the account shows
its people."""

from __future__ import annotations

import uuid

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def create(gateway, **fields) -> dict:
    response = await gateway.post("/api/customers", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_person_belongs_to_an_account_and_the_account_lists_its_people(gateway) -> None:
    tag = uuid.uuid4().hex[:6]
    account = await create(
        gateway, kind="account", organization=f"Clinic {tag}", email=f"office@{tag}.example.org"
    )
    ana = await create(
        gateway, last_name=f"Pop{tag}", email=f"ana@{tag}.example.org", account_id=account["id"]
    )
    ion = await create(gateway, last_name=f"Ene{tag}", email=f"ion@{tag}.example.org")
    assert ana["account_id"] == account["id"]

    moved = await gateway.patch(
        f"/api/customers/{ion['id']}",
        json={"account_id": account["id"]},
        headers={"If-Match": f'"{ion["version"]}"'},
    )
    assert moved.status_code == 200, moved.text

    people = (await gateway.get("/api/customers", params={"account_id": account["id"]})).json()
    assert sorted(c["id"] for c in people["items"]) == sorted([ana["id"], ion["id"]])


async def test_only_a_live_account_can_be_named(gateway) -> None:
    tag = uuid.uuid4().hex[:6]
    person = await create(gateway, last_name=f"Pop{tag}", email=f"p@{tag}.example.org")
    account = await create(
        gateway, kind="account", organization=f"Org {tag}", sms="+40 711 000 000"
    )
    cases = [
        {"last_name": "X", "email": f"x@{tag}.example.org", "account_id": person["id"]},
        {"last_name": "X", "email": f"y@{tag}.example.org", "account_id": str(uuid.uuid4())},
        {"kind": "account", "organization": "Sub", "email": f"z@{tag}.example.org",
         "account_id": account["id"]},
    ]  # fmt: skip
    for fields in cases:
        refused = await gateway.post("/api/customers", json=fields)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["account_id"]
