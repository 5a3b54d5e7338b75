"""A crash between a database write and its event loses neither.

The customer service is restarted with a crash point armed; it SIGKILLs itself (a) after the
database acknowledged a new customer and before the broker acknowledged its event, and (b) after
the broker acknowledged and before the outbox entry was cleared. After a normal restart, a plain
aiokafka consumer sees the event and loyalty enrolls the customer exactly once.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from devstack.probes import eventually, header, read_topic
from servicekit.faults import AFTER_PUBLISH, AFTER_STORE

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


@pytest.mark.parametrize("point", [AFTER_STORE, AFTER_PUBLISH])
async def test_crash_between_write_and_publish_loses_nothing(platform, point) -> None:
    bootstrap = platform.deployment.servers.kafka_bootstrap_servers
    code = f"CRASH-{uuid.uuid4().hex[:8]}"
    process = platform.start("customer", {"CDP_FAULT_CRASH_AT": point})
    try:
        async with httpx.AsyncClient(
            base_url=platform.url("customer"), headers=platform.auth(), timeout=10
        ) as direct:
            with pytest.raises(httpx.HTTPError):
                await direct.post(
                    "/customers",
                    json={
                        "first_name": "Crash",
                        "last_name": "Test",
                        "email": "c@example.org",
                        "mdm_code": code,
                    },
                )
        assert process.popen is not None and process.popen.wait(10) == -9
    finally:
        platform.start("customer")  # a normal restart: its start-up sweep publishes leftovers

    async with httpx.AsyncClient(
        base_url=platform.gateway_url, headers=platform.auth(), timeout=10
    ) as gateway:
        found = (await gateway.get("/api/customers", params={"mdm_code": code})).json()["items"]
        assert len(found) == 1, "the write the database acknowledged is there"
        customer_id = found[0]["id"]

        def registrations(records) -> list:
            return [
                r
                for r in records
                if r.key == customer_id.encode()
                and header(r, "ce_type") == "cdp.customer.CustomerRegistered"
            ]

        records = await read_topic(
            bootstrap,
            platform.topic("customer.events"),
            timeout=15,
            until=lambda rs: len(registrations(rs)) >= 1,
        )
        published = registrations(records)
        assert published, "the event survived the crash"
        assert json.loads(published[0].value)["customer"]["mdm_code"] == code
        if point == AFTER_PUBLISH:
            # published before the crash and again by the sweep: the same event, twice
            records = await read_topic(
                bootstrap,
                platform.topic("customer.events"),
                timeout=10,
                until=lambda rs: len(registrations(rs)) >= 2,
            )
            assert len({header(r, "ce_id") for r in registrations(records)}) == 1

        async def enrolled() -> bool:
            view = (await gateway.get(f"/api/customers/{customer_id}/360")).json()
            return view["loyalty"]["status"] == "available"

        await eventually(enrolled, what="loyalty enrollment after the crash")
        enrolments = await read_topic(
            bootstrap, platform.topic("loyalty.events"), timeout=3, until=lambda rs: False
        )  # read to the time limit: a second one would show up
        assert sum(r.key == customer_id.encode() for r in enrolments) == 1
