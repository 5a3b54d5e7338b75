"""A batch job killed mid-run resumes from its checkpoint and loses no event.

The segmentation service runs a recompute in chunks of 10 with a crash point armed: it SIGKILLs
itself in the third chunk (a) after the chunk's bulk write, before its events are published, and
(b) after they are published, before the checkpoint is recorded. A normal restart resumes the
job from its last checkpoint; at the end every customer holds its segment, the job counts each
customer once, and every customer's SegmentsAssigned is on the topic. The lists service's plan
list rebuild, killed the same way after a chunk's write, ends with every customer in the list
and every ListMembershipChanged on the topic; so does an RFM run of the loyalty service, with
every member's stars and CustomerMetricsChanged; a tier reassessment resumed the same way moves
each member down one level, not two.

With two replicas of segmentation, the one that started a recompute is killed mid-job and the
other (not restarted, not told) takes the job over once its lease expires (3 s in tests) and
finishes it from the checkpoint, each customer counted once.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from contracts.customer_events import CustomerRegistered
from contracts.customers import Address, Customer
from devstack.probes import eventually, header, read_topic
from devstack.process import free_port
from devstack.services import service_process, wait_ready
from pymongo import AsyncMongoClient
from servicekit.faults import JOB_AFTER_PUBLISH, JOB_AFTER_WRITE

pytestmark = [pytest.mark.e2e, pytest.mark.servers]

CUSTOMERS = 45
CHUNK = {"CDP_RECOMPUTE_BATCH": "10"}


async def register(bootstrap: str, topic: str, ids: list[str], brick: str) -> None:
    """CustomerRegistered for each id, as the customer service publishes it."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        now = datetime.now(UTC)
        for cid in ids:
            customer = Customer(
                id=cid,
                version=1,
                kind="person",
                first_name="Batch",
                last_name=cid,
                addresses=[Address(line1="1 Main St", brick=brick, primary=True)],
                created_at=now,
                updated_at=now,
            )
            envelope = CustomerRegistered(customer=customer, origin="api").envelope(
                source="test/customer", subject=cid
            )
            await producer.send(
                topic, envelope.body(), key=cid.encode(), headers=list(envelope.headers())
            )
        await producer.flush()
    finally:
        await producer.stop()


@pytest.mark.parametrize("point", [JOB_AFTER_WRITE, JOB_AFTER_PUBLISH])
async def test_a_killed_recompute_resumes_from_its_checkpoint(platform, point) -> None:
    run = uuid.uuid4().hex[:8]
    bootstrap = platform.deployment.servers.kafka_bootstrap_servers
    brick, code = f"BJ-{run}", f"batch{run}"
    ids = [f"bj{run}-{i:03d}" for i in range(CUSTOMERS)]
    await register(bootstrap, platform.topic("customer.events"), ids, brick)
    process = platform.start("segmentation", {**CHUNK, "CDP_FAULT_CRASH_AT": f"{point}:3"})
    try:
        async with httpx.AsyncClient(
            base_url=platform.url("segmentation"), headers=platform.auth(), timeout=10
        ) as segmentation:

            async def replicated() -> bool:
                found = [(await segmentation.get(f"/profiles/{cid}")).status_code for cid in ids]
                return all(status == 200 for status in found)

            await eventually(replicated, what="the customers in segmentation's replica")
            rule = {"field": "customer.addresses.brick", "op": "eq", "value": brick}
            defined = await segmentation.post(
                "/segmentations",
                json={
                    "code": code,
                    "name": "Batch",
                    "segments": [{"code": "in", "name": "In", "rule": rule}],
                },
            )
            assert defined.status_code == 201, defined.text
            job = defined.json()["recompute"]
            assert job["total"] == CUSTOMERS
        assert process.popen is not None and process.popen.wait(30) == -9, "crashed mid-job"

        platform.start("segmentation", CHUNK)  # a normal restart resumes the job
        async with httpx.AsyncClient(
            base_url=platform.url("segmentation"), headers=platform.auth(), timeout=10
        ) as segmentation:

            async def finished() -> dict | None:
                answer = await segmentation.get(f"/segmentations/{code}/recomputes/{job['_id']}")
                progress = answer.json()
                return progress if progress["state"] == "done" else None

            progress = await eventually(finished, what="the resumed job to finish", timeout=30)
            # the chunk after the last checkpoint ran again, and counted once
            assert progress["processed"] == progress["changed"] == CUSTOMERS
            for cid in ids:
                profile = (await segmentation.get(f"/profiles/{cid}")).json()
                assert profile["segmentations"][code]["segment"] == "in"
    finally:
        platform.start("segmentation")

    def assigned(records) -> set[str]:
        keys = set()
        for record in records:
            if record.key.decode() in ids:
                body = json.loads(record.value)
                if any(
                    a["segmentation"] == code and a["segment"] == "in" for a in body["assignments"]
                ):
                    keys.add(record.key.decode())
        return keys

    records = await read_topic(
        bootstrap,
        platform.topic("segmentation.assignments"),
        timeout=20,
        until=lambda rs: len(assigned(rs)) == CUSTOMERS,
    )
    assert assigned(records) == set(ids), "every customer's event is on the topic"


async def test_another_replica_takes_over_a_killed_replicas_recompute(platform) -> None:
    run = uuid.uuid4().hex[:8]
    bootstrap = platform.deployment.servers.kafka_bootstrap_servers
    brick, code = f"BK-{run}", f"takeover{run}"
    ids = [f"bk{run}-{i:03d}" for i in range(CUSTOMERS)]
    await register(bootstrap, platform.topic("customer.events"), ids, brick)
    # replica A (the platform's, with the crash armed) and replica B on a port of its own
    doomed = platform.start("segmentation", {**CHUNK, "CDP_FAULT_CRASH_AT": f"{JOB_AFTER_WRITE}:3"})
    port = free_port()
    env = {**platform.deployment.env("segmentation", {**platform.ports, "segmentation": port})}
    other = dataclasses.replace(
        service_process("segmentation", {**env, **CHUNK}, platform.log_dir),
        log_path=platform.log_dir / "segmentation-b.log",
    ).start()
    try:
        wait_ready(other, port)
        async with httpx.AsyncClient(
            base_url=platform.url("segmentation"), headers=platform.auth(), timeout=10
        ) as segmentation:

            async def replicated() -> bool:
                found = [(await segmentation.get(f"/profiles/{cid}")).status_code for cid in ids]
                return all(status == 200 for status in found)

            await eventually(replicated, what="the customers in segmentation's replica")
            rule = {"field": "customer.addresses.brick", "op": "eq", "value": brick}
            defined = await segmentation.post(
                "/segmentations",
                json={
                    "code": code,
                    "name": "Takeover",
                    "segments": [{"code": "in", "name": "In", "rule": rule}],
                },
            )
            assert defined.status_code == 201, defined.text
            job = defined.json()["recompute"]
        assert doomed.popen is not None and doomed.popen.wait(30) == -9, "crashed mid-job"

        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=platform.auth(), timeout=10
        ) as survivor:

            async def finished() -> dict | None:
                answer = await survivor.get(f"/segmentations/{code}/recomputes/{job['_id']}")
                progress = answer.json()
                return progress if progress["state"] == "done" else None

            progress = await eventually(finished, what="the other replica to finish", timeout=40)
            assert progress["processed"] == progress["changed"] == CUSTOMERS
            for cid in ids:
                profile = (await survivor.get(f"/profiles/{cid}")).json()
                assert profile["segmentations"][code]["segment"] == "in"
        assert "resuming batch job" in other.log_path.read_text(), "B took the job over"
    finally:
        other.stop()
        platform.start("segmentation")


async def test_a_killed_plan_list_rebuild_resumes_and_publishes_every_change(platform) -> None:
    run = uuid.uuid4().hex[:8]
    bootstrap = platform.deployment.servers.kafka_bootstrap_servers
    brick, code, team = f"BL-{run}", f"rebuild{run}", f"team-{run}"
    # ids that sort before every other customer: the job's first chunks are these
    ids = [f"00-{run}-{i:03d}" for i in range(25)]
    await register(bootstrap, platform.topic("customer.events"), ids, brick)
    async with httpx.AsyncClient(
        base_url=platform.gateway_url, headers=platform.auth(), timeout=10
    ) as gateway:
        rule = {"field": "customer.addresses.brick", "op": "eq", "value": brick}
        defined = await gateway.post(
            "/api/segmentations",
            json={
                "code": code,
                "name": "R",
                "segments": [{"code": "in", "name": "In", "rule": rule}],
            },
        )
        assert defined.status_code == 201, defined.text
        mongo: AsyncMongoClient = AsyncMongoClient(platform.deployment.servers.mongodb_url)
        replica = mongo[f"{platform.deployment.database_prefix}lists"].customers
        try:

            async def segmented() -> bool:
                query = {"_id": {"$in": ids}, f"segments.{code}.segment": "in", "kind": "person"}
                return await replica.count_documents(query) == len(ids)

            await eventually(segmented, what="lists' replica to hold the segments", timeout=30)
        finally:
            await mongo.close()

        process = platform.start(
            "lists", {"CDP_REBUILD_BATCH": "10", "CDP_FAULT_CRASH_AT": f"{JOB_AFTER_WRITE}:2"}
        )
        try:
            answer = await gateway.post(
                "/api/teams", json={"id": team, "name": "R", "bricks": [brick]}
            )
            assert answer.status_code == 201, answer.text
            answer = await gateway.post(
                "/api/plans",
                json={
                    "id": team,
                    "team_id": team,
                    "period": "2026-Q4",
                    "segmentations": [code],
                    "targeted_segments": [{"segmentation": code, "segment": "in"}],
                },
            )
            assert answer.status_code == 201, answer.text
            assert process.popen is not None and process.popen.wait(30) == -9, "crashed mid-job"
        finally:
            platform.start("lists")  # a normal restart resumes the job

        async def built() -> bool:
            return "list_built_at" in (await gateway.get(f"/api/plans/{team}")).json()

        await eventually(built, what="the resumed rebuild to finish", timeout=60)
        listed = await gateway.get(f"/api/plans/{team}/customers", params={"limit": 100})
        assert {item["customer_id"] for item in listed.json()["items"]} == set(ids)
        assert not any("rebuilt_by" in item for item in listed.json()["items"]), "stamp hidden"

    def joined(records) -> set[str]:
        keys = set()
        for record in records:
            body = json.loads(record.value)
            if body["plan_id"] == team and body["member"]:
                keys.add(body["customer_id"])
        return keys

    records = await read_topic(
        bootstrap,
        platform.topic("lists.events"),
        timeout=20,
        until=lambda rs: joined(rs) == set(ids),
    )
    assert joined(records) == set(ids), "every membership's event is on the topic"


async def enrolled_members(
    platform, gateway: httpx.AsyncClient, ids: list[str], brick: str
) -> None:
    """Register the customers and wait until loyalty has enrolled every one."""
    bootstrap = platform.deployment.servers.kafka_bootstrap_servers
    await register(bootstrap, platform.topic("customer.events"), ids, brick)

    async def enrolled() -> bool:
        found = [(await gateway.get(f"/api/members/{cid}")).status_code for cid in ids]
        return all(status == 200 for status in found)

    await eventually(enrolled, what="the members enrolled", timeout=30)


async def kill_loyalty_in_a_job(platform, path: str) -> None:
    """Start loyalty's job at ``path`` with chunks of 5, kill the service in its second chunk,
    then restart it normally (which resumes the job)."""
    process = platform.start(
        "loyalty", {"CDP_RFM_CHUNK": "5", "CDP_FAULT_CRASH_AT": f"{JOB_AFTER_WRITE}:2"}
    )
    try:
        async with httpx.AsyncClient(
            base_url=platform.url("loyalty"), headers=platform.auth(), timeout=30
        ) as loyalty:
            with pytest.raises(httpx.HTTPError):
                await loyalty.post(path)  # answers when the job is done: never
        assert process.popen is not None and process.popen.wait(30) == -9, "crashed mid-job"
    finally:
        platform.start("loyalty")  # a normal restart resumes the job


async def test_a_killed_rfm_run_resumes_and_publishes_every_member(platform) -> None:
    run = uuid.uuid4().hex[:8]
    bootstrap = platform.deployment.servers.kafka_bootstrap_servers
    ids = [f"0-rfm{run}-{i:03d}" for i in range(12)]  # sort first: the run's first chunks
    async with httpx.AsyncClient(
        base_url=platform.gateway_url, headers=platform.auth(), timeout=10
    ) as gateway:
        await enrolled_members(platform, gateway, ids, f"BR-{run}")
        for rank, cid in enumerate(ids, start=1):
            bought = await gateway.post(
                "/api/purchases",
                json={
                    "order_id": f"RFM-{run}-{rank}",
                    "customer_id": cid,
                    "purchased_at": "2026-11-22T12:00:00Z",
                    "lines": [{"product": "Gift", "category": "Gifts", "amount": f"{rank * 100}"}],
                },
            )
            assert bought.status_code == 201, bought.text

        await kill_loyalty_in_a_job(platform, "/rfm/runs")
        version = (await gateway.get("/api/rfm/runs/latest")).json()["version"]

        async def scored() -> bool:
            members = [(await gateway.get(f"/api/members/{cid}")).json() for cid in ids]
            return all((m.get("rfm") or {}).get("version") == version for m in members)

        await eventually(scored, what="every member scored by the resumed run", timeout=30)

    def metrics(records) -> set[str]:
        return {
            body["customer_id"]
            for record in records
            if header(record, "ce_type") == "cdp.loyalty.CustomerMetricsChanged"
            and (body := json.loads(record.value))["customer_id"] in ids
            and body["rfm_version"] == version
        }

    records = await read_topic(
        bootstrap,
        platform.topic("loyalty.events"),
        timeout=20,
        until=lambda rs: metrics(rs) == set(ids),
    )
    assert metrics(records) == set(ids), "every member's stars are on the topic"


async def test_a_killed_tier_reassessment_moves_each_member_once(platform) -> None:
    run = uuid.uuid4().hex[:8]
    ids = [f"0-0tier{run}-{i:03d}" for i in range(12)]  # sort first: the job's first chunks
    async with httpx.AsyncClient(
        base_url=platform.gateway_url, headers=platform.auth(), timeout=10
    ) as gateway:
        await enrolled_members(platform, gateway, ids, f"BT-{run}")
        for cid in ids:  # gold by hand, without the points: a reassessment moves them to silver
            gold = await gateway.post(
                f"/api/members/{cid}/tier", json={"tier": "gold", "reason": "test"}
            )
            assert gold.status_code == 200, gold.text

        await kill_loyalty_in_a_job(platform, "/tiers/reassessments")

        async def tiers() -> list[dict] | None:
            members = [(await gateway.get(f"/api/members/{cid}")).json() for cid in ids]
            return members if all(m["tier"] != "gold" for m in members) else None

        members = await eventually(tiers, what="every member reassessed", timeout=30)
        assert [m["tier"] for m in members] == ["silver"] * len(ids)
        for member in members:
            moves = [c for c in member["tier_history"] if c["reason"] == "reassessment"]
            assert [(c["from"], c["to"]) for c in moves] == [("gold", "silver")]
