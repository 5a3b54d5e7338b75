"""The lists service decides a customer's list membership from customer and segment events in one
write per membership, the ListMembershipChanged event in the memberships' consumer slot, and
commits the offsets after publishing: a crash between the write and the publish, or between the
publish and the commit, redelivers the records and the slot publishes the same event again.

In one case a manual removal from the list over HTTP (another writer of the same membership, with
its own outbox) lands before the redelivery (the service restarted with its consumers paused).
Afterwards both decisions are on ``lists.events``, each under one event id, and the removal stands.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from devstack.probes import eventually, header, read_topic
from servicekit.faults import AFTER_PUBLISH, AFTER_STORE

pytestmark = [pytest.mark.e2e, pytest.mark.servers]
PATH = "customer_and_segment_events"  # the lists service's memberships slot


@pytest.mark.parametrize("remove_between", [False, True], ids=["alone", "removal-between"])
@pytest.mark.parametrize("point", [AFTER_STORE, AFTER_PUBLISH])
async def test_crash_on_the_membership_path_loses_no_event(platform, point, remove_between) -> None:
    bootstrap = platform.deployment.servers.kafka_bootstrap_servers
    run = uuid.uuid4().hex[:8]
    segmentation, last_name, team = f"lcrash-{run}", f"List{run}", f"lcrash-{run}"
    plan_id = f"{team}-2026"
    async with httpx.AsyncClient(
        base_url=platform.gateway_url, headers=platform.auth(), timeout=10
    ) as gateway:
        defined = await gateway.post(
            "/api/segmentations",
            json={
                "code": segmentation,
                "name": "Crash test",
                "level": "customer",
                "dimensions": [],
                "segments": [
                    {
                        "code": "named",
                        "name": "By name",
                        "rule": {"field": "customer.last_name", "op": "eq", "value": last_name},
                    }
                ],
            },
        )
        assert defined.status_code == 201, defined.text
        created = await gateway.post(
            "/api/teams", json={"id": team, "name": "T", "bricks": ["BC1"], "reps": ["rep1"]}
        )
        assert created.status_code == 201, created.text
        created = await gateway.post(
            "/api/plans",
            json={
                "id": plan_id,
                "team_id": team,
                "period": "2026-Q4",
                "segmentations": [segmentation],
                "targeted_segments": [{"segmentation": segmentation, "segment": "named"}],
            },
        )
        assert created.status_code == 201, created.text

        async def plan_known() -> bool:
            return (await gateway.get(f"/api/plans/{plan_id}")).status_code == 200

        await eventually(plan_known, what="the plan")
        process = platform.start("lists", {"CDP_FAULT_CRASH_AT": f"{point}:{PATH}"})
        try:
            created = await gateway.post(
                "/api/customers",
                json={
                    "first_name": "Lu",
                    "last_name": last_name,
                    "email": f"{run}@ex.org",
                    "addresses": [{"line1": "1 Main St", "brick": "BC1", "primary": True}],
                },
            )
            assert created.status_code == 201, created.text
            customer_id = created.json()["id"]
            assert process.popen is not None and process.popen.wait(60) == -9
            if remove_between:
                platform.start("lists", {"CDP_FAULT_CONSUMERS_PAUSED": "true"})
                removed = await gateway.delete(f"/api/plans/{plan_id}/customers/{customer_id}")
                assert removed.status_code == 200, removed.text
        finally:
            platform.start("lists")  # a normal restart: the records are redelivered

        expected = {True} | ({False} if remove_between else set())

        def decisions(records) -> list[tuple[bool, str | None]]:
            return [
                (json.loads(r.value)["member"], header(r, "ce_id"))
                for r in records
                if r.key == customer_id.encode() and json.loads(r.value)["plan_id"] == plan_id
            ]

        def complete(records) -> bool:
            seen = decisions(records)
            if {member for member, _ in seen} != expected:
                return False
            return point != AFTER_PUBLISH or sum(member for member, _ in seen) >= 2

        records = await read_topic(
            bootstrap, platform.topic("lists.events"), timeout=30, until=complete
        )
        seen = decisions(records)
        assert {member for member, _ in seen} == expected, "every decision was published"
        for member in expected:
            assert len({ce_id for m, ce_id in seen if m == member}) == 1, "one event each"
        listed = await gateway.get(f"/api/plans/{plan_id}/customers", params={"limit": 1000})
        in_list = customer_id in {item["customer_id"] for item in listed.json()["items"]}
        assert in_list == (not remove_between)
        assert all("consumed" not in item for item in listed.json()["items"])
