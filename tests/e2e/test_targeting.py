"""Seed 000's story over real processes, Kafka and the database: a customer missing from a
team plan's list is explained; the rep looks the customer up, computes segments for new profile
values, saves, and the customer appears in the list with no further call; after submission the
same edit is refused. A customer's data change and a rule change reach the list on their own."""

from __future__ import annotations

import json

import pytest
from devstack.probes import eventually, read_topic

from tests.e2e.targeting_kit import cardio, explained, in_list, known_to_lists, new_customer

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def test_seed_000_missing_customer_is_explained_profiled_and_appears(
    platform, gateway, plan
) -> None:
    plan_id, seg = plan["id"], plan["segmentation"]
    maria = await new_customer(gateway, "BN1")
    outside = await new_customer(gateway, "BX9")

    why = await known_to_lists(gateway, plan_id, maria["id"])
    assert not why["in_list"]
    assert [r["code"] for r in why["reasons"]] == ["not-segmented"]
    assert why["reasons"][0]["data"]["targeted_segments"] == ["a", "b"]
    why_not = await known_to_lists(gateway, plan_id, outside["id"])
    assert [r["code"] for r in why_not["reasons"]] == ["no-address-in-bricks", "not-segmented"]
    assert why_not["reasons"][0]["data"]["customer_bricks"] == ["BX9"]

    # Step 1: the rep looks the customer up by MDM code
    rep = {"authorization": f"Bearer {platform.token('rep1', 'rep', [plan['team']])}"}
    found = await gateway.get(
        f"/api/plans/{plan_id}/lookup", params={"mdm_code": maria["mdm_code"]}, headers=rep
    )
    assert found.status_code == 200, found.text
    assert found.json()["name"] == "Maria Pop" and found.json()["bricks"] == ["BN1"]
    assert found.json()["segmentations"][seg] == {
        "segment": None,
        "profile": {},
        "targeted_segments": ["a", "b"],
    }
    missing = await gateway.get(
        f"/api/plans/{plan_id}/lookup", params={"mdm_code": "NOPE-1"}, headers=rep
    )
    assert missing.status_code == 404 and missing.json()["type"].endswith("customer-not-found")
    as_account = await gateway.get(
        f"/api/plans/{plan_id}/lookup",
        params={"mdm_code": maria["mdm_code"], "kind": "account"},
        headers=rep,
    )
    assert as_account.status_code == 404
    stranger = {"authorization": f"Bearer {platform.token('rep9', 'rep', ['south'])}"}
    forbidden = await gateway.get(f"/api/plans/{plan_id}/explain/{maria['id']}", headers=stranger)
    assert forbidden.status_code == 403

    # Step 2: compute segments for new profile values: a preview, nothing saved
    edit = {"profiles": {seg: {"potential": "high", "adoption": "early"}}}
    url = f"/api/plans/{plan_id}/customers/{maria['id']}"
    computed = await gateway.post(f"{url}/compute", json=edit, headers=rep)
    assert computed.status_code == 200, computed.text
    preview = computed.json()
    assert preview["segmentations"][seg]["current"]["segment"] is None
    assert preview["segmentations"][seg]["proposed"]["segment"] == "a"
    assert not preview["membership"]["current"]["in_list"]
    assert preview["membership"]["proposed"]["in_list"]
    assert not await in_list(gateway, plan_id, maria["id"])

    bad = await gateway.post(
        f"{url}/compute", json={"profiles": {seg: {"potential": "enormous"}}}, headers=rep
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "values"
    foreign = await gateway.post(
        f"{url}/compute", json={"profiles": {"other-seg": {"potential": "high"}}}, headers=rep
    )
    assert foreign.status_code == 422
    assert foreign.json()["type"].endswith("segmentation-not-in-plan")

    # Step 3: save; the list follows with no further call
    saved = await gateway.put(f"{url}/profiles", json=edit, headers=rep)
    assert saved.status_code == 200, saved.text
    assert saved.json()["segmentations"][seg]["segment"] == "a"

    async def listed() -> bool:
        return await in_list(gateway, plan_id, maria["id"])

    await eventually(listed, what="the profiled customer in the plan's list")
    exported = await gateway.get(f"/api/plans/{plan_id}/customers.csv", headers=rep)
    assert exported.status_code == 200 and exported.text.startswith("customer_id,mdm_code,name")
    assert maria["id"] in exported.text and f"{seg}=a" in exported.text
    assert (await explained(gateway, plan_id, maria["id"]))["in_list"]
    view = (await gateway.get(f"/api/customers/{maria['id']}/360")).json()
    assert view["segments"]["data"]["segmentations"][seg]["segment"] == "a"
    plans = view["lists"]["data"]["plans"]
    assert [(p["plan_id"], p["segments"]) for p in plans] == [(plan_id, {seg: "a"})]

    # The membership event carries its lineage
    topic = platform.topic("lists.events")
    bootstrap = platform.deployment.servers.kafka_bootstrap_servers

    def entered(records: list) -> bool:
        return any(json.loads(r.value).get("plan_id") == plan_id for r in records)

    records = await read_topic(bootstrap, topic, until=entered)
    event = next(
        json.loads(r.value)
        for r in records
        if json.loads(r.value).get("plan_id") == plan_id
        and json.loads(r.value)["customer_id"] == maria["id"]
    )
    assert event["member"] is True
    assert event["rule_versions"] == {seg: 1}
    assert event["caused_by"] == "user:rep1"

    # Submission freezes the list; the same edit is then refused
    submitted = await gateway.post(f"/api/plans/{plan_id}/submit", headers=rep)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    refused = await gateway.put(f"{url}/profiles", json=edit, headers=rep)
    assert refused.status_code == 409 and refused.json()["type"].endswith("plan-submitted")
    assert (await gateway.post(f"{url}/compute", json=edit, headers=rep)).status_code == 409
    snapshot = (await gateway.get(f"/api/plans/{plan_id}/snapshot", headers=rep)).json()
    assert [m["customer_id"] for m in snapshot["items"]] == [maria["id"]]
    assert snapshot["items"][0]["rule_versions"] == {seg: 1}


async def test_customer_and_rule_changes_reach_the_list_by_themselves(gateway, plan) -> None:
    plan_id, seg = plan["id"], plan["segmentation"]
    mover = await new_customer(gateway, "BN2")
    grower = await new_customer(gateway, "BN1")
    leader = await new_customer(gateway, "BN1")
    for customer, values in ((mover, {"potential": "medium"}), (grower, {"potential": "low"})):
        await known_to_lists(gateway, plan_id, customer["id"])
        response = await gateway.put(
            f"/api/profiles/{customer['id']}/{seg}", json={"values": values}
        )
        assert response.status_code == 200, response.text

    async def listed(customer_id: str, expected: bool = True) -> bool:
        return await in_list(gateway, plan_id, customer_id) == expected

    await eventually(lambda: listed(mover["id"]), what="the medium-potential customer listed")
    assert not await in_list(gateway, plan_id, grower["id"])

    # A customer data change (a move out of the territory) takes the customer out of the list
    current = (await gateway.get(f"/api/customers/{mover['id']}")).json()
    moved = await gateway.patch(
        f"/api/customers/{mover['id']}",
        json={"addresses": [{"line1": "9 Far Rd", "brick": "BX9", "primary": True}]},
        headers={"if-match": f'"{current["version"]}"'},
    )
    assert moved.status_code == 200, moved.text
    await eventually(lambda: listed(mover["id"], False), what="the moved customer leaving")
    why = await explained(gateway, plan_id, mover["id"])
    assert [r["code"] for r in why["reasons"]] == ["no-address-in-bricks"]

    # A rule change (segment b now takes low potential too) brings the grower in
    definition = await gateway.get(f"/api/segmentations/{seg}")
    assert definition.status_code == 200 and definition.headers["etag"] == '"1"'
    changed = await gateway.put(
        f"/api/segmentations/{seg}",
        json=cardio(seg, ["medium", "low"]),
        headers={"if-match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    job = changed.json()["recompute"]
    await eventually(lambda: listed(grower["id"]), what="the rule change reaching the list")

    async def finished() -> dict | None:
        progress = (await gateway.get(f"/api/segmentations/{seg}/recomputes/{job['_id']}")).json()
        return progress if progress["state"] == "done" else None

    progress = await eventually(finished, what="the recompute job to finish")
    # Only the customers a rule can affect are reassessed: the two profiled ones here
    assert progress["processed"] == progress["total"] == 2 and progress["changed"] == 1
    stale = await gateway.put(
        f"/api/segmentations/{seg}", json=cardio(seg, ["low"]), headers={"if-match": '"1"'}
    )
    assert stale.status_code == 409

    # A trait a rule reads: the leader becomes "kol" (not targeted: explained as such)
    await known_to_lists(gateway, plan_id, leader["id"])
    catalogued = await gateway.post("/api/traits", json={"name": "kol"})
    assert catalogued.status_code in (201, 409), catalogued.text
    tagged = await gateway.post(f"/api/customers/{leader['id']}/traits", json={"add": ["kol"]})
    assert tagged.status_code in (200, 201), tagged.text

    async def segmented() -> dict | None:
        why = await explained(gateway, plan_id, leader["id"])
        return why if why["customer"]["segments"][seg] == "kol" else None

    why = await eventually(segmented, what="the trait reaching the segment")
    assert [r["code"] for r in why["reasons"]] == ["segment-not-targeted"]


async def test_bad_definitions_and_plans_get_problems(gateway) -> None:
    broken_rule = cardio("broken-x", ["medium"])
    broken_rule["segments"][1]["rule"] = {"field": "profile.potential", "op": "in", "value": "x"}
    response = await gateway.post("/api/segmentations", json=broken_rule)
    assert response.status_code == 422, response.text
    unknown_dimension = cardio("broken-y", ["medium"])
    unknown_dimension["segments"][0]["rule"] = {"field": "profile.size", "op": "exists"}
    response = await gateway.post("/api/segmentations", json=unknown_dimension)
    assert response.status_code == 422 and "not a dimension" in response.text
    response = await gateway.post(
        "/api/plans",
        json={
            "id": "p-x",
            "team_id": "no-such-team",
            "period": "2026-Q4",
            "segmentations": ["s"],
            "targeted_segments": [{"segmentation": "t", "segment": "a"}],
        },
    )
    assert response.status_code == 422 and "targeted_segments" in response.text
    response = await gateway.get("/api/plans/no-such-plan/customers")
    assert response.status_code == 404 and response.json()["type"].endswith("plan-not-found")
