"""Profile writes that move a customer in or out of a team plan's list are the team's: a rep of
another team is refused on the gateway and on the segmentation service's own port, one by one
and in bulk, as the add/edit flow refuses them. The segmentation service learns which teams'
plans assign a segmentation, and their territories, from the lists service's events."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from devstack.probes import eventually

from tests.e2e.targeting_kit import in_list, known_to_lists, new_customer

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def _put(client: httpx.AsyncClient, url: str, values: dict, headers: dict) -> httpx.Response:
    return await client.put(url, json={"values": values}, headers=headers)


async def test_a_rep_of_another_team_cannot_change_a_teams_list_by_profiles(
    platform, gateway, plan: dict[str, Any]
) -> None:
    plan_id, seg, team = plan["id"], plan["segmentation"], plan["team"]
    maria = await new_customer(gateway, "BN1")
    await known_to_lists(gateway, plan_id, maria["id"])
    owner = platform.auth(user="rep1", role="rep", teams=[team])
    stranger = platform.auth(user="rep9", role="rep", teams=[f"south-{uuid.uuid4().hex[:6]}"])
    other_manager = platform.auth(user="boss9", role="manager", teams=["elsewhere"])
    url = f"/api/profiles/{maria['id']}/{seg}"
    top = {"potential": "high", "adoption": "early"}

    async def refused() -> bool:
        answer = await _put(gateway, url, {"potential": "low", "adoption": "late"}, stranger)
        return answer.status_code == 403

    await eventually(refused, what="segmentation to learn the team's plan and refuse")
    answer = await _put(gateway, url, top, stranger)
    assert answer.status_code == 403
    assert answer.json()["detail"] == "not allowed" and team not in answer.text
    assert (await _put(gateway, url, top, other_manager)).status_code == 403

    saved = await _put(gateway, url, top, owner)
    assert saved.status_code == 200, saved.text
    await eventually(lambda: in_list(gateway, plan_id, maria["id"]), what="maria listed")

    out = {"potential": "low", "adoption": "late"}
    async with httpx.AsyncClient(base_url=platform.url("segmentation"), timeout=10) as direct:
        answer = await _put(direct, f"/profiles/{maria['id']}/{seg}", out, stranger)
        assert answer.status_code == 403, answer.text
        bulk = await direct.post(
            "/profiles/bulk",
            json={"items": [{"customer_id": maria["id"], "segmentation": seg, "values": out}]},
            headers=stranger,
        )
    assert bulk.status_code == 200, bulk.text
    assert bulk.json()["saved"] == 0 and bulk.json()["rows"][0]["error"] == "not allowed"
    via_gateway = await gateway.post(
        "/api/profiles/bulk",
        json={"items": [{"customer_id": maria["id"], "segmentation": seg, "values": out}]},
        headers=stranger,
    )
    assert via_gateway.json()["saved"] == 0, via_gateway.text
    profile = (await gateway.get(f"/api/profiles/{maria['id']}")).json()
    assert profile["segmentations"][seg]["profile"] == top
    assert await in_list(gateway, plan_id, maria["id"])

    # Outside every team's territory a profile edit moves no list: any rep may make it
    far = await new_customer(gateway, "BX9")
    await known_to_lists(gateway, plan_id, far["id"])
    answer = await _put(gateway, f"/api/profiles/{far['id']}/{seg}", top, stranger)
    assert answer.status_code == 200, answer.text
