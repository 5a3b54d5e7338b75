"""Who sees which lists: a static list or group is its owners' (the creator, the reps named, the
teams named or, by default, the creator's teams; admins see all), and a group marked available
to all back-office users (seed 002) is readable by everyone. Another team's list does not exist
for a caller (404), on the gateway and on the lists service's port; a customer's lists (the
360's and the lists service's) leave out other teams' plans and lists."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from devstack.probes import eventually

from tests.e2e.targeting_kit import in_list, known_to_lists, new_customer

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def test_lists_and_groups_are_visible_to_their_owners_teams_only(
    platform, gateway: httpx.AsyncClient, plan: dict[str, Any]
) -> None:
    team, seg = plan["team"], plan["segmentation"]
    south = f"south-{uuid.uuid4().hex[:6]}"
    north_rep = platform.auth(user="rep1", role="rep", teams=[team])
    north_boss = platform.auth(user="boss1", role="manager", teams=[team])
    south_rep = platform.auth(user="rep9", role="rep", teams=[south])
    south_boss = platform.auth(user="boss9", role="manager", teams=[south])
    maria = await new_customer(gateway, "BN1")
    await known_to_lists(gateway, plan["id"], maria["id"])

    async def create(body: dict[str, Any]) -> str:
        answer = await gateway.post("/api/lists", json=body, headers=north_rep)
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    static = await create({"name": "North mailing", "customer_ids": [maria["id"]]})
    group = await create({"name": "North KOLs", "kind": "group", "owners": {"teams": [team]}})
    shared = await create(
        {"name": "Everyone's group", "kind": "group", "available_to_all": True, "owners": {}}
    )
    for list_id in (group, shared):
        added = await gateway.post(
            f"/api/lists/{list_id}/customers",
            json={"customer_ids": [maria["id"]]},
            headers=north_rep,
        )
        assert added.status_code == 200 and added.json()["added"] == 1, added.text
    assert (await gateway.get(f"/api/lists/{static}")).json()["owners"]["teams"] == [team]
    nowhere = await gateway.post(
        "/api/lists",
        json={"name": "Nowhere", "kind": "group", "owners": {"teams": [team, "no-such-team"]}},
        headers=north_rep,
    )
    assert nowhere.status_code == 422, nowhere.text
    assert nowhere.json()["errors"][0]["field"] == "owners.teams.1"

    for headers in (north_rep, north_boss, platform.auth()):
        for list_id in (static, group, shared):
            answer = await gateway.get(f"/api/lists/{list_id}", headers=headers)
            assert answer.status_code == 200, answer.text
    async with httpx.AsyncClient(base_url=platform.url("lists"), timeout=10) as direct:
        for client, prefix in ((gateway, "/api"), (direct, "")):
            for headers in (south_rep, south_boss):
                for list_id in (static, group):
                    for path in ("", "/customers", "/customers.csv", "/customer-ids"):
                        answer = await client.get(
                            f"{prefix}/lists/{list_id}{path}", headers=headers
                        )
                        assert answer.status_code == 404, (path, answer.text)
                        assert team not in answer.text
                    changed = await client.patch(
                        f"{prefix}/lists/{list_id}",
                        json={"name": "Mine now"},
                        headers={**headers, "if-match": '"1"'},
                    )
                    assert changed.status_code == 404, changed.text
                readable = await client.get(f"{prefix}/lists/{shared}/customers", headers=headers)
                assert readable.status_code == 200, readable.text
                assert [c["customer_id"] for c in readable.json()["items"]] == [maria["id"]]
                refused = await client.patch(
                    f"{prefix}/lists/{shared}",
                    json={"name": "Mine now"},
                    headers={**headers, "if-match": '"2"'},
                )
                assert refused.status_code == 403, refused.text
                assert refused.json()["detail"] == "not allowed"
                everything = await client.get(f"{prefix}/lists", headers=headers)
                assert {d["id"] for d in everything.json()} & {static, group, shared} == {shared}
                of_maria = await client.get(
                    f"{prefix}/lists", params={"customer_id": maria["id"]}, headers=headers
                )
                assert [d["id"] for d in of_maria.json()] == [shared]

    # A customer's lists: the team plan's membership only for its team (and admins)
    put = await gateway.put(
        f"/api/profiles/{maria['id']}/{seg}",
        json={"values": {"potential": "high", "adoption": "early"}},
        headers=north_rep,
    )
    assert put.status_code == 200, put.text
    await eventually(lambda: in_list(gateway, plan["id"], maria["id"]), what="maria listed")
    for headers, plans, lists in (
        (north_rep, [plan["id"]], {static, group, shared}),
        (south_rep, [], {shared}),
        (south_boss, [], {shared}),
    ):
        view = (await gateway.get(f"/api/customers/{maria['id']}/360", headers=headers)).json()
        shown = view["lists"]["data"]
        assert [p["plan_id"] for p in shown["plans"]] == plans
        assert {d["id"] for d in shown["lists"]} == lists
        async with httpx.AsyncClient(base_url=platform.url("lists"), timeout=10) as direct:
            answer = await direct.get(f"/customers/{maria['id']}/lists", headers=headers)
        assert [p["plan_id"] for p in answer.json()["plans"]] == plans
