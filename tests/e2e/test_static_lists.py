"""Static lists and groups through the gateway (seeds 002, 003): created from a search with a
confirmation count, from a saved search's matches, by hand and by CSV import; their suppression
and trait rules applied at the time of use; a customer's lists; export; erasure."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx
import pytest
from devstack.probes import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def customers(gateway: httpx.AsyncClient, family: str, count: int) -> list[dict[str, Any]]:
    made = []
    for i in range(count):
        response = await gateway.post(
            "/api/customers",
            json={
                "first_name": f"N{i}",
                "last_name": family,
                "email": f"{family.lower()}{i}@example.org",
                "mdm_code": f"{family}-{i}",
            },
        )
        assert response.status_code == 201, response.text
        made.append(response.json())
    return made


async def listed(gateway: httpx.AsyncClient, list_id: str, **params: Any) -> list[dict]:
    response = await gateway.get(f"/api/lists/{list_id}/customers", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def known(gateway: httpx.AsyncClient, people: list[dict]) -> None:
    """Wait until the lists service has heard of these customers (by a throwaway list)."""
    probe = (await gateway.post("/api/lists", json={"name": "probe"})).json()["id"]

    async def all_known() -> bool:
        answer = await gateway.post(
            f"/api/lists/{probe}/customers", json={"customer_ids": [p["id"] for p in people]}
        )
        return not answer.json()["unknown"]

    await eventually(all_known, what="lists to learn of the customers")
    assert (await gateway.delete(f"/api/lists/{probe}")).status_code == 204


async def test_a_static_list_from_a_search_applies_its_rules_when_used(gateway) -> None:
    family = f"St{uuid.uuid4().hex[:6]}"
    people = await customers(gateway, family, 3)
    await known(gateway, people)
    body = {
        "list": {
            "name": f"Mailing {family}",
            "usage": "mail",
            "excluded_suppressions": ["do-not-mail"],
            "required_traits": [],
        },
        "criteria": {"last_name": family},
    }
    counted = await gateway.post("/api/lists/from-search", json=body)
    assert counted.status_code == 200 and counted.json() == {"count": 3, "created": False}
    stale = await gateway.post("/api/lists/from-search", json={**body, "confirm_count": 2})
    assert stale.status_code == 409 and stale.json()["count"] == 3
    created = await gateway.post("/api/lists/from-search", json={**body, "confirm_count": 3})
    assert created.status_code == 201, created.text
    list_id = created.json()["list"]["id"]
    assert created.json()["added"] == 3 and created.json()["list"]["source"] == "search"
    assert len(await listed(gateway, list_id)) == 3

    # Search by list name (seed 003's "list name" criterion), combinable with the others
    found = await gateway.get(
        "/api/customers", params={"list_name": f"mailing {family}".upper(), "first_name": "N1"}
    )
    assert found.status_code == 200, found.text
    assert [c["id"] for c in found.json()["items"]] == [people[1]["id"]]
    nothing = await gateway.get("/api/customers", params={"list_name": "no such list"})
    assert nothing.json()["items"] == []

    # A suppression the list excludes takes the customer out when the list is used
    suppressed = people[0]
    response = await gateway.post(
        f"/api/customers/{suppressed['id']}/suppressions", json={"type": "do-not-mail"}
    )
    assert response.status_code in (200, 201), response.text

    async def left_out() -> bool:
        return suppressed["id"] not in {c["customer_id"] for c in await listed(gateway, list_id)}

    await eventually(left_out, what="the suppressed customer left out")
    everyone = await listed(gateway, list_id, include_excluded="true")
    out = next(c for c in everyone if c["customer_id"] == suppressed["id"])
    assert not out["included"] and out["reasons"][0]["code"] == "suppressed"
    summary = await gateway.get(f"/api/lists/{list_id}/summary")
    assert summary.status_code == 200, summary.text
    assert summary.json()["list"]["name"] == f"Mailing {family}"
    counts = {k: v for k, v in summary.json().items() if k != "list"}
    assert counts == {
        "customers": 3,
        "included": 2,
        "excluded": 1,
        "excluded_by_reason": {"suppressed": 1},
    }

    # A required trait: only customers with it are used
    current = (await gateway.get(f"/api/lists/{list_id}")).json()
    changed = await gateway.patch(
        f"/api/lists/{list_id}",
        json={"required_traits": ["vip"]},
        headers={"if-match": f'"{current["version"]}"'},
    )
    assert changed.status_code == 200, changed.text
    stale_edit = await gateway.patch(
        f"/api/lists/{list_id}", json={"name": "x"}, headers={"if-match": '"1"'}
    )
    assert stale_edit.status_code == 409
    assert await listed(gateway, list_id) == []
    reasons = {
        r["code"]
        for c in await listed(gateway, list_id, include_excluded="true")
        for r in c["reasons"]
    }
    assert "missing-traits" in reasons

    # A customer's lists; remove by hand; export
    mine = (await gateway.get("/api/lists", params={"customer_id": people[1]["id"]})).json()
    assert [m["id"] for m in mine] == [list_id]
    assert (
        await gateway.delete(f"/api/lists/{list_id}/customers/{people[1]['id']}")
    ).status_code == 204
    assert (
        await gateway.delete(f"/api/lists/{list_id}/customers/{people[1]['id']}")
    ).status_code == 404
    await gateway.patch(
        f"/api/lists/{list_id}",
        json={"required_traits": []},
        headers={"if-match": f'"{current["version"] + 1}"'},
    )
    exported = await gateway.get(f"/api/lists/{list_id}/customers.csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["customer_id"] for r in rows] == [people[2]["id"]]


async def test_a_group_takes_in_its_saved_search_matches_and_imports_csv(platform, gateway) -> None:
    family = f"Gr{uuid.uuid4().hex[:6]}"
    team = await gateway.post("/api/teams", json={"id": "north", "name": "North", "bricks": []})
    assert team.status_code in (201, 409), team.text  # owners name a real team
    people = await customers(gateway, family, 3)
    await known(gateway, people)
    saved = await gateway.post(
        "/api/saved-searches",
        json={"name": f"Group {family}", "criteria": {"last_name": family}},
    )
    assert saved.status_code == 201, saved.text
    group = await gateway.post(
        "/api/lists",
        json={
            "name": f"Group {family}",
            "kind": "group",
            "owners": {"teams": ["north"], "reps": ["olga"]},
            "saved_search_id": saved.json()["id"],
        },
    )
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]
    added = await gateway.post(f"/api/lists/{group_id}/add-matching")
    assert added.status_code == 200, added.text
    assert (added.json()["matched"], added.json()["added"]) == (3, 3)
    again = (await gateway.post(f"/api/lists/{group_id}/add-matching")).json()
    assert (again["added"], again["already_listed"]) == (0, 3)
    teams = (await gateway.get("/api/lists", params={"team": "north", "kind": "group"})).json()
    assert group_id in [g["id"] for g in teams]

    outsider = platform.auth(user="eve", role="rep", teams=["south"])
    denied = await gateway.delete(f"/api/lists/{group_id}", headers=outsider)
    assert denied.status_code == 404  # another team's group does not exist for them

    static = (await gateway.post("/api/lists", json={"name": f"Imported {family}"})).json()
    content = "mdm_code\n" + f"{family}-0\n{family}-2\nNO-SUCH-CODE\n"
    imported = await gateway.post(
        f"/api/lists/{static['id']}/import",
        content=content.encode(),
        headers={"content-type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    report = imported.json()
    assert report["added"] == 2 and report["rejected"][0]["row"] == 4
    names = sorted(c["name"] for c in await listed(gateway, static["id"]))
    assert names == [f"N0 {family}", f"N2 {family}"]
    no_column = await gateway.post(
        f"/api/lists/{static['id']}/import",
        content=b"email\nx@y.z\n",
        headers={"content-type": "text/csv"},
    )
    assert no_column.status_code == 422

    # Erasure takes the customer off every list
    erased = await gateway.delete(f"/api/customers/{people[0]['id']}")
    assert erased.status_code == 204, erased.text

    async def gone() -> bool:
        found = await gateway.get("/api/lists", params={"customer_id": people[0]["id"]})
        return found.json() == []

    await eventually(gone, what="the erased customer off every list")


async def test_a_static_list_of_the_customers_sent_a_fulfilment(gateway) -> None:
    family = f"Fu{uuid.uuid4().hex[:6]}"
    people = await customers(gateway, family, 3)
    await known(gateway, people)
    activity = f"Spring mailer {family}"
    for person, sent in ((people[0], activity), (people[1], activity.upper()), (people[2], "x")):
        response = await gateway.post(
            f"/api/customers/{person['id']}/fulfilments",
            json={"type": "Send brochure", "date": "2026-03-01", "activity": sent},
        )
        assert response.status_code == 201, response.text
    body = {"list": {"name": f"Follow-up {family}", "usage": "phone"}, "activity": activity}
    counted = await gateway.post("/api/lists/from-fulfilments", json=body)
    assert counted.status_code == 200 and counted.json()["count"] == 2
    created = await gateway.post("/api/lists/from-fulfilments", json={**body, "confirm_count": 2})
    assert created.status_code == 201, created.text
    made = created.json()["list"]
    assert made["source"] == "fulfilment"
    ids = {c["customer_id"] for c in await listed(gateway, made["id"])}
    assert ids == {people[0]["id"], people[1]["id"]}
