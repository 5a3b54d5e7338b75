"""Saved searches through the gateway: named criteria, shared with teams, run and exported."""

from __future__ import annotations

import csv
import io
import uuid

import httpx
import pytest
from devstack.probes import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def test_saved_searches_are_named_shared_and_run(platform, gateway) -> None:
    family = f"Sv{uuid.uuid4().hex[:6]}"
    for first in ("Ada", "Bea"):
        await gateway.post(
            "/api/customers",
            json={"first_name": first, "last_name": family, "sms": "+40 700 000 000"},
        )
    team = await gateway.post("/api/teams", json={"id": "north", "name": "North", "bricks": []})
    assert team.status_code in (201, 409), team.text  # a search is shared into a real team
    owner = platform.auth(user="olga", role="rep", teams=["north"])
    body = {"name": f"Cardio {family}", "criteria": {"last_name": family}, "teams": ["north"]}

    async def created_once_the_team_is_known() -> httpx.Response | None:
        answer = await gateway.post("/api/saved-searches", json=body, headers=owner)
        return answer if answer.status_code != 422 else None

    created = await eventually(created_once_the_team_is_known, what="the team to be known")
    assert created.status_code == 201, created.text
    saved = created.json()
    assert saved["owner"] == "olga"
    same_name = await gateway.post(
        "/api/saved-searches", json={**body, "name": body["name"].upper()}, headers=owner
    )
    assert same_name.status_code == 409 and same_name.json()["field"] == "name"
    bad = await gateway.post(
        "/api/saved-searches",
        json={**body, "name": "x", "criteria": {"shoe_size": 4}},
        headers=owner,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "criteria.shoe_size"

    path = f"/api/saved-searches/{saved['id']}"
    teammate = platform.auth(user="ion", role="rep", teams=["north"])
    stranger = platform.auth(user="eve", role="rep", teams=["south"])
    found = (await gateway.get(f"{path}/customers", headers=teammate)).json()
    assert sorted(c["first_name"] for c in found["items"]) == ["Ada", "Bea"]
    assert (await gateway.get(path, headers=stranger)).status_code == 404
    assert saved["id"] not in [
        s["id"] for s in (await gateway.get("/api/saved-searches", headers=stranger)).json()
    ]
    assert saved["id"] in [
        s["id"] for s in (await gateway.get("/api/saved-searches", headers=teammate)).json()
    ]

    exported = await gateway.get(f"{path}/export.csv", headers=teammate)
    assert len(list(csv.DictReader(io.StringIO(exported.text)))) == 2

    changed = await gateway.put(path, json={**body, "teams": []}, headers=teammate)
    assert changed.status_code == 403
    renamed = await gateway.put(path, json={**body, "name": f"Renamed {family}"}, headers=owner)
    assert renamed.json()["name"] == f"Renamed {family}"
    assert (await gateway.delete(path, headers=owner)).status_code == 204
    assert (await gateway.get(path, headers=owner)).status_code == 404
