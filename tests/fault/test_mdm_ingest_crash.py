"""MDM ingest writes a change once, with its events in the MDM path's slot, and commits the offset
after publishing them: a crash between the write and the publish, or between the publish and the
commit, redelivers the record, and the slot publishes the same events again.

The customer service is restarted with the crash armed on the MDM path only; it SIGKILLs itself
there. In one case an HTTP edit of the same customer lands before the redelivery (the service
restarted with its consumers paused): the edit must not hide the MDM change's events. Then a
normal restart; every change's events are on ``customer.events`` (the MDM one, possibly twice,
under one event id) and applied once downstream: one history entry per version, one enrollment.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from contracts.mdm import MdmCustomerUpserted
from devstack.probes import eventually, header, read_topic
from servicekit.faults import AFTER_PUBLISH, AFTER_STORE

pytestmark = [pytest.mark.e2e, pytest.mark.servers]
PATH = "mdm_ingest"  # customer.handlers.MDM_INGEST


async def publish_upsert(bootstrap: str, topic: str, code: str) -> None:
    event = MdmCustomerUpserted.model_validate(
        {
            "mdm_code": code,
            "version": 1,
            "record": {
                "kind": "person",
                "first_name": "Crash",
                "last_name": "Mdm",
                "email": f"{code.lower()}@example.org",
            },
        }
    )
    envelope = event.envelope(source="erp/mdm-hub", subject=code)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, envelope.body(), key=code.encode(), headers=envelope.headers()
        )
    finally:
        await producer.stop()


@pytest.mark.parametrize("edit_between", [False, True], ids=["alone", "http-edit-between"])
@pytest.mark.parametrize("point", [AFTER_STORE, AFTER_PUBLISH])
async def test_crash_on_the_mdm_path_loses_no_event_and_applies_none_twice(
    platform, point, edit_between
) -> None:
    bootstrap = platform.deployment.servers.kafka_bootstrap_servers
    code = f"CRASH-{uuid.uuid4().hex[:8]}"
    process = platform.start("customer", {"CDP_FAULT_CRASH_AT": f"{point}:{PATH}"})
    try:
        await publish_upsert(bootstrap, platform.topic("mdm.customers"), code)
        assert process.popen is not None and process.popen.wait(60) == -9
        if edit_between:
            platform.start("customer", {"CDP_FAULT_CONSUMERS_PAUSED": "true"})
            async with httpx.AsyncClient(
                base_url=platform.url("customer"), headers=platform.auth(), timeout=10
            ) as direct:
                found = (await direct.get("/customers", params={"mdm_code": code})).json()
                assert [c["version"] for c in found["items"]] == [1], "the write is there"
                edited = await direct.patch(
                    f"/customers/{found['items'][0]['id']}",
                    json={"middle_name": "Edited"},
                    headers={"if-match": '"1"'},
                )
                assert edited.status_code == 200, edited.text
    finally:
        platform.start("customer")  # a normal restart: the record is redelivered

    async with httpx.AsyncClient(
        base_url=platform.gateway_url, headers=platform.auth(), timeout=10
    ) as gateway:
        found = (await gateway.get("/api/customers", params={"mdm_code": code})).json()["items"]
        assert len(found) == 1
        customer = found[0]
        assert customer["first_name"] == "Crash"
        assert customer["version"] == (2 if edit_between else 1)
        if edit_between:
            assert customer["middle_name"] == "Edited", "the redelivery did not undo the edit"
        customer_id = customer["id"]
        expected = {("cdp.customer.CustomerRegistered", 1)}
        if edit_between:
            expected.add(("cdp.customer.CustomerUpdated", 2))

        def changes(records) -> list[tuple[str, int, str]]:
            return [
                (
                    header(r, "ce_type"),
                    json.loads(r.value)["customer"]["version"],
                    header(r, "ce_id"),
                )
                for r in records
                if r.key == customer_id.encode()
            ]

        def redelivered(records) -> bool:
            seen = changes(records)
            if {(t, v) for t, v, _ in seen} != expected:
                return False
            # after the publish, the redelivery publishes the MDM change again
            return point != AFTER_PUBLISH or sum(v == 1 for _, v, _ in seen) >= 2

        records = await read_topic(
            bootstrap, platform.topic("customer.events"), timeout=30, until=redelivered
        )
        seen = changes(records)
        assert {(t, v) for t, v, _ in seen} == expected, "every change's event was published"
        assert len({ce_id for _, v, ce_id in seen if v == 1}) == 1, "one event, maybe twice"

        async def history_complete() -> bool:
            history = (await gateway.get(f"/api/customers/{customer_id}/history")).json()["items"]
            return len(history) >= len(expected)

        await eventually(history_complete, what="the history of both changes")

        async def enrolled() -> bool:
            view = (await gateway.get(f"/api/customers/{customer_id}/360")).json()
            return view["loyalty"]["status"] == "available"

        await eventually(enrolled, what="loyalty enrollment after the crash")
        enrolments = await read_topic(
            bootstrap, platform.topic("loyalty.events"), timeout=3, until=lambda rs: False
        )  # read to the time limit: a second one would show up
        assert sum(r.key == customer_id.encode() for r in enrolments) == 1
        history = (await gateway.get(f"/api/customers/{customer_id}/history")).json()["items"]
        assert sorted(entry["version"] for entry in history) == sorted(v for _, v in expected)
