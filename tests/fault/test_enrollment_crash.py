"""Loyalty enrolls a registered customer in one write, the MemberEnrolled event in the member's
customer-events slot, and commits the offset after publishing it: a crash between the write and
the publish, or between the publish and the commit, redelivers the registration and the slot
publishes the same event again.

In one case a manager sets the member's tier over HTTP (another writer of the same document)
before the redelivery (the service restarted with its consumers paused). Afterwards the
enrollment is on ``loyalty.events`` under one event id, and the tier set by hand stands.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from devstack.probes import eventually, header, read_topic
from servicekit.faults import AFTER_PUBLISH, AFTER_STORE

pytestmark = [pytest.mark.e2e, pytest.mark.servers]
PATH = "customer_events"  # loyalty.handlers.ENROLLMENT


@pytest.mark.parametrize("edit_between", [False, True], ids=["alone", "tier-set-between"])
@pytest.mark.parametrize("point", [AFTER_STORE, AFTER_PUBLISH])
async def test_crash_on_the_enrollment_path_loses_no_event(platform, point, edit_between) -> None:
    bootstrap = platform.deployment.servers.kafka_bootstrap_servers
    async with httpx.AsyncClient(
        base_url=platform.gateway_url, headers=platform.auth(), timeout=10
    ) as gateway:
        process = platform.start("loyalty", {"CDP_FAULT_CRASH_AT": f"{point}:{PATH}"})
        try:
            created = await gateway.post(
                "/api/customers",
                json={
                    "first_name": "Eva",
                    "last_name": "Crash",
                    "email": f"{uuid.uuid4().hex}@x.org",
                },
            )
            assert created.status_code == 201, created.text
            customer_id = created.json()["id"]
            assert process.popen is not None and process.popen.wait(60) == -9
            if edit_between:
                platform.start("loyalty", {"CDP_FAULT_CONSUMERS_PAUSED": "true"})
                tier = await gateway.post(
                    f"/api/members/{customer_id}/tier", json={"tier": "gold", "reason": "VIP"}
                )
                assert tier.status_code == 200, tier.text
        finally:
            platform.start("loyalty")  # a normal restart: the registration is redelivered

        def enrolments(records) -> list[str | None]:
            return [
                header(r, "ce_id")
                for r in records
                if r.key == customer_id.encode()
                and header(r, "ce_type") == "cdp.loyalty.MemberEnrolled"
            ]

        wanted = 2 if point == AFTER_PUBLISH else 1  # after the publish: once more
        records = await read_topic(
            bootstrap,
            platform.topic("loyalty.events"),
            timeout=30,
            until=lambda rs: len(enrolments(rs)) >= wanted,
        )
        published = enrolments(records)
        assert len(published) >= wanted, "the enrollment event survived the crash"
        assert len(set(published)) == 1, "one event, maybe twice"

        async def member() -> dict | None:
            found = await gateway.get(f"/api/members/{customer_id}")
            return found.json() if found.status_code == 200 else None

        found = await eventually(member, what="the member after the crash")
        assert found["status"] == "active"
        assert found["tier"] == ("gold" if edit_between else "base")
        assert "consumed" not in found and "outbox" not in found
