"""A team's plans and territory are its own: a manager of another team neither reads nor
changes them (on the gateway and the lists service's port); the team's manager and admins do."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def test_a_manager_of_another_team_neither_reads_nor_changes_a_plan(
    platform, gateway: httpx.AsyncClient, plan: dict[str, Any]
) -> None:
    plan_id, team, seg = plan["id"], plan["team"], plan["segmentation"]
    other = platform.auth(user="boss9", role="manager", teams=[f"south-{uuid.uuid4().hex[:6]}"])
    own = platform.auth(user="boss1", role="manager", teams=[team])
    fields = {
        "segmentations": [seg],
        "targeted_segments": [{"segmentation": seg, "segment": "a"}],
    }
    async with httpx.AsyncClient(base_url=platform.url("lists"), timeout=10) as direct:
        for client, prefix in ((gateway, "/api"), (direct, "")):
            for method, path, body in (
                ("GET", f"/plans/{plan_id}", None),
                ("GET", f"/plans/{plan_id}/customers", None),
                ("GET", f"/plans/{plan_id}/snapshot", None),
                ("PUT", f"/plans/{plan_id}", fields),
                ("POST", f"/plans/{plan_id}/submit", None),
                ("PATCH", f"/teams/{team}", {"bricks": ["BX1"]}),
            ):
                answer = await client.request(method, prefix + path, json=body, headers=other)
                assert answer.status_code == 403, (method, path, answer.text)
                assert answer.json()["detail"] == "not allowed"
            listed = await client.get(f"{prefix}/plans", headers=other)
            assert plan_id not in {p["id"] for p in listed.json()}
            created = await client.post(
                f"{prefix}/plans",
                json={"id": f"{plan_id}-x", "team_id": team, "period": "2027", **fields},
                headers=other,
            )
            assert created.status_code == 403, created.text
    assert (await gateway.get(f"/api/plans/{plan_id}", headers=own)).status_code == 200
    assert plan_id in {p["id"] for p in (await gateway.get("/api/plans", headers=own)).json()}
    changed = await gateway.put(f"/api/plans/{plan_id}", json=fields, headers=own)
    assert changed.status_code == 200, changed.text
    assert (await gateway.get(f"/api/teams/{team}")).json()["bricks"] == ["BN1", "BN2"]
