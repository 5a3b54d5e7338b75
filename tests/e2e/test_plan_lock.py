"""A submitted plan is locked: its list is the snapshot taken at submission. A profile edit or a
territory change afterwards changes the team's draft plans' lists, not the submitted one's, until
a manager of the team reopens it (recorded with who and when); the list then catches up."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from devstack.probes import eventually

from tests.e2e.targeting_kit import explained, in_list, known_to_lists, new_customer

pytestmark = [pytest.mark.e2e, pytest.mark.servers]

TOP = {"potential": "high", "adoption": "early"}
LOW = {"potential": "low", "adoption": "late"}


async def listed(gateway: httpx.AsyncClient, plan_id: str) -> set[str]:
    response = await gateway.get(f"/api/plans/{plan_id}/customers", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return {item["customer_id"] for item in response.json()["items"]}


async def test_a_submitted_plans_list_stays_its_snapshot_until_reopened(
    platform, gateway: httpx.AsyncClient, plan: dict[str, Any]
) -> None:
    locked, seg, team = plan["id"], plan["segmentation"], plan["team"]
    # A draft plan of the same team and segmentation: it shows when the changes have arrived
    draft = f"{locked}-draft"
    created = await gateway.post(
        "/api/plans",
        json={
            "id": draft,
            "team_id": team,
            "period": "2026-Q3",
            "segmentations": [seg],
            "targeted_segments": [{"segmentation": seg, "segment": "a"}],
        },
    )
    assert created.status_code == 201, created.text
    maria, ann, joe = [await new_customer(gateway, b) for b in ("BN1", "BN2", "BN1")]
    for customer in (maria, ann, joe):
        await known_to_lists(gateway, locked, customer["id"])
        await known_to_lists(gateway, draft, customer["id"])
    for customer in (maria, ann):
        put = await gateway.put(f"/api/profiles/{customer['id']}/{seg}", json={"values": TOP})
        assert put.status_code == 200, put.text

    async def both_listed() -> bool:
        wanted = {maria["id"], ann["id"]}
        return wanted <= await listed(gateway, locked) and wanted <= await listed(gateway, draft)

    await eventually(both_listed, what="maria and ann in both lists")
    manager = platform.auth(user="boss", role="manager", teams=[team])
    submitted = await gateway.post(f"/api/plans/{locked}/submit", headers=manager)
    assert submitted.status_code == 200, submitted.text
    frozen = await listed(gateway, locked)

    # After submission: a profile edit, a territory change, a newly profiled customer; each
    # waits for the draft plan's list to follow (so the next starts from settled data)
    async def draft_is(expected: set[str]) -> None:
        async def check() -> bool:
            return await listed(gateway, draft) == expected

        await eventually(check, what=f"the draft plan's list to become {expected}")

    out = await gateway.put(f"/api/profiles/{maria['id']}/{seg}", json={"values": LOW})
    assert out.status_code == 200, out.text
    await draft_is({ann["id"]})
    territory = await gateway.patch(f"/api/teams/{team}", json={"bricks": ["BN1"]}, headers=manager)
    assert territory.status_code == 200, territory.text
    await draft_is(set())
    joined = await gateway.put(f"/api/profiles/{joe['id']}/{seg}", json={"values": TOP})
    assert joined.status_code == 200, joined.text
    await draft_is({joe["id"]})
    assert await listed(gateway, locked) == frozen
    assert (await explained(gateway, locked, maria["id"]))["in_list"]
    assert not (await explained(gateway, locked, joe["id"]))["in_list"]
    view = (await gateway.get(f"/api/customers/{maria['id']}/360")).json()
    assert locked in {p["plan_id"] for p in view["lists"]["data"]["plans"]}

    # Reopening is a manager's, recorded; the list then catches up
    rep = platform.auth(user="rep1", role="rep", teams=[team])
    assert (await gateway.post(f"/api/plans/{locked}/reopen", headers=rep)).status_code == 403
    reopened = await gateway.post(f"/api/plans/{locked}/reopen", headers=manager)
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert body["status"] == "draft"
    assert body["reopened"][-1]["by"] == "boss" and body["reopened"][-1]["at"]
    again = await gateway.post(f"/api/plans/{locked}/reopen", headers=manager)
    assert again.status_code == 409

    async def caught_up() -> bool:
        return await listed(gateway, locked) == {joe["id"]}

    await eventually(caught_up, what="the reopened plan's list to catch up")
    assert await in_list(gateway, locked, joe["id"])
