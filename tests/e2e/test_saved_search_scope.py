"""Saved searches are scoped by owner and team: a name is unique among one owner's searches and
among the searches shared into a team (another team's private name is nobody else's business);
a search is shared only into the caller's own teams, and only into teams that exist (the
customer service knows them from the lists service's events); managers see their teams'."""

from __future__ import annotations

import uuid

import httpx
import pytest
from devstack.probes import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def test_saved_search_names_and_sharing_are_scoped_by_team(platform, gateway) -> None:
    run = uuid.uuid4().hex[:6]
    north, south = f"north-{run}", f"south-{run}"
    for team in (north, south):
        made = await gateway.post("/api/teams", json={"id": team, "name": team, "bricks": []})
        assert made.status_code == 201, made.text
    olga = platform.auth(user=f"olga-{run}", role="rep", teams=[north])
    ion = platform.auth(user=f"ion-{run}", role="rep", teams=[north])
    eve = platform.auth(user=f"eve-{run}", role="rep", teams=[south])
    meg = platform.auth(user=f"meg-{run}", role="manager", teams=[south])
    criteria = {"last_name": f"Ss{run}"}

    async def create(headers: dict, name: str, teams: list[str]) -> httpx.Response:
        body = {"name": name, "criteria": criteria, "teams": teams}
        return await gateway.post("/api/saved-searches", json=body, headers=headers)

    async def shared_into_north() -> httpx.Response | None:
        answer = await create(olga, f"Shared {run}", [north])
        return answer if answer.status_code != 422 else None

    shared = await eventually(shared_into_north, what="the customer service to know the team")
    assert shared.status_code == 201, shared.text

    private = await create(eve, f"Cardio {run}", [])
    assert private.status_code == 201, private.text
    mine = await create(olga, f"CARDIO {run}", [])
    assert mine.status_code == 201, mine.text  # eve's private name is not olga's business
    again = await create(olga, f"cardio {run}", [])
    assert again.status_code == 409 and again.json()["field"] == "name"
    in_team = await create(ion, f"shared {run}", [north])
    assert in_team.status_code == 409 and in_team.json()["field"] == "name"

    foreign = await create(olga, f"Into south {run}", [south])
    assert foreign.status_code == 403 and foreign.json()["detail"] == "not allowed"
    unknown = await create(olga, f"Nowhere {run}", [f"no-such-{run}"])
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["errors"][0]["field"].startswith("teams")
    path = f"/api/saved-searches/{shared.json()['id']}"
    moved = await gateway.put(
        path, json={"name": f"Shared {run}", "criteria": criteria, "teams": [south]}, headers=olga
    )
    assert moved.status_code == 403, moved.text

    async with httpx.AsyncClient(base_url=platform.url("customer"), timeout=10) as direct:
        answer = await direct.post(
            "/saved-searches",
            json={"name": f"Direct {run}", "criteria": criteria, "teams": [south]},
            headers=olga,
        )
        assert answer.status_code == 403, answer.text
        assert (
            await direct.get(f"/saved-searches/{shared.json()['id']}", headers=meg)
        ).status_code == 404
    listed = (await gateway.get("/api/saved-searches", headers=meg)).json()
    assert shared.json()["id"] not in {s["id"] for s in listed}
    assert (await gateway.get(path, headers=ion)).status_code == 200
