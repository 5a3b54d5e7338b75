"""Segmentation keeps its replica of each customer and the customer's segments from customer
events in one write per change, with the SegmentsAssigned event in the customer-events path's
slot; the offsets are committed after publishing. A crash between the write and the publish, or
between the publish and the commit, redelivers the customer event and the slot publishes the same
assignment event again.

In one case a profile edit over HTTP (another writer of the same document, with its own outbox)
lands before the redelivery (the service restarted with its consumers paused). Afterwards both
assignments are on the topic, each revision under one event id, and the edit's segment stands.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from devstack.probes import eventually, header, read_topic
from servicekit.faults import AFTER_PUBLISH, AFTER_STORE

pytestmark = [pytest.mark.e2e, pytest.mark.servers]
PATH = "customer_events"  # the segmentation service's slot for its customer-events consumer


def segmentation(code: str, last_name: str) -> dict[str, Any]:
    return {
        "code": code,
        "name": "Crash test",
        "level": "customer",
        "dimensions": [{"name": "potential", "values": ["high", "low"]}],
        "segments": [
            {
                "code": "high",
                "name": "High potential",
                "rule": {"field": "profile.potential", "op": "eq", "value": "high"},
            },
            {
                "code": "named",
                "name": "By name",
                "rule": {"field": "customer.last_name", "op": "eq", "value": last_name},
            },
        ],
    }


@pytest.mark.parametrize("edit_between", [False, True], ids=["alone", "profile-edit-between"])
@pytest.mark.parametrize("point", [AFTER_STORE, AFTER_PUBLISH])
async def test_crash_on_the_assignment_path_loses_no_event(platform, point, edit_between) -> None:
    bootstrap = platform.deployment.servers.kafka_bootstrap_servers
    run = uuid.uuid4().hex[:8]
    code, last_name = f"crash-{run}", f"Seg{run}"
    async with httpx.AsyncClient(
        base_url=platform.gateway_url, headers=platform.auth(), timeout=10
    ) as gateway:
        defined = await gateway.post("/api/segmentations", json=segmentation(code, last_name))
        assert defined.status_code == 201, defined.text
        process = platform.start("segmentation", {"CDP_FAULT_CRASH_AT": f"{point}:{PATH}"})
        try:
            created = await gateway.post(
                "/api/customers",
                json={"first_name": "Ida", "last_name": last_name, "email": f"{run}@ex.org"},
            )
            assert created.status_code == 201, created.text
            customer_id = created.json()["id"]
            assert process.popen is not None and process.popen.wait(60) == -9
            if edit_between:
                platform.start("segmentation", {"CDP_FAULT_CONSUMERS_PAUSED": "true"})
                edited = await gateway.put(
                    f"/api/profiles/{customer_id}/{code}", json={"values": {"potential": "high"}}
                )
                assert edited.status_code == 200, edited.text
        finally:
            platform.start("segmentation")  # a normal restart: the event is redelivered

        expected = {(1, "named")} | ({(2, "high")} if edit_between else set())

        def assignments(records) -> list[tuple[int, str | None, str]]:
            found = []
            for r in records:
                if r.key != customer_id.encode():
                    continue
                data = json.loads(r.value)
                mine = [a for a in data["assignments"] if a["segmentation"] == code]
                found.append((data["revision"], mine[0]["segment"], header(r, "ce_id")))
            return found

        def complete(records) -> bool:
            seen = assignments(records)
            if {(rev, seg) for rev, seg, _ in seen} != expected:
                return False
            return point != AFTER_PUBLISH or sum(rev == 1 for rev, _, _ in seen) >= 2

        records = await read_topic(
            bootstrap, platform.topic("segmentation.assignments"), timeout=30, until=complete
        )
        seen = assignments(records)
        assert {(rev, seg) for rev, seg, _ in seen} == expected, "every assignment published"
        for revision, _ in expected:
            assert len({ce_id for rev, _, ce_id in seen if rev == revision}) == 1

        async def settled() -> bool:
            found = await gateway.get(f"/api/profiles/{customer_id}")
            doc = found.json() if found.status_code == 200 else {}
            return doc.get("revision") == len(expected)

        await eventually(settled, what="the segmentation view after the redelivery")
        view = (await gateway.get(f"/api/profiles/{customer_id}")).json()
        assert view["segmentations"][code]["segment"] == ("high" if edit_between else "named")
