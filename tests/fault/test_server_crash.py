"""kill -9 of a server, then a restart on the same data: Kafka during produce and consume, and
the database server mid-stream. Each case runs its own server (the session's are shared by every
other test) and the customer service on it, whose MDM ingest both consumes (``mdm.customers``)
and produces (``customer.events``, which its history consumer reads back).

Kafka: MDM upserts go in before, during (the test's producer retries until acknowledged) and
after the broker's outage, and an HTTP create after it (the service's producer reconnected).
Database: MDM upserts stream in while the server is killed; readiness goes false, then true
after the restart. Either way no manual step: afterwards every acknowledged upsert is
one customer at version 1 with one ``CustomerRegistered`` (a redelivery may publish it again
under the same event id, never a second id), one history entry, and no event left in an outbox.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from contracts.mdm import MdmCustomerUpserted
from devstack.kafka import start_kafka
from devstack.mongo import start_mongo
from devstack.probes import eventually, header, read_topic
from devstack.process import ServerProcess, free_port
from devstack.pytest_plugin import TEST_JWT_SECRET
from devstack.servers import Servers
from devstack.services import Deployment, service_process, wait_ready
from devstack.topics import create_topics
from pymongo import AsyncMongoClient
from servicekit.auth import mint_token

pytestmark = [pytest.mark.e2e, pytest.mark.servers]
AUTH = {"authorization": f"Bearer {mint_token(TEST_JWT_SECRET, 'tester', 'admin', None)}"}


class CustomerService:
    """The customer service on its own topics and database, on the servers given."""

    def __init__(self, servers: Servers, log_dir: Path) -> None:
        run = uuid.uuid4().hex[:8]
        self.deployment = Deployment(
            servers,
            topic_prefix=f"f{run}.",
            database_prefix=f"f{run}_",
            consumer_group_prefix=f"f{run}.",
            jwt_secret=TEST_JWT_SECRET,
            outbox_sweep_seconds=1.0,
        )
        self.port = free_port()
        self.log_dir = log_dir
        self.process: ServerProcess | None = None

    async def start(self) -> None:
        await create_topics(
            self.deployment.servers.kafka_bootstrap_servers, self.deployment.topic_prefix, 3
        )
        env = self.deployment.env("customer", {"customer": self.port})
        self.process = service_process("customer", env, self.log_dir).start()
        await asyncio.to_thread(wait_ready, self.process, self.port)

    def topic(self, name: str) -> str:
        return self.deployment.topic_prefix + name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> str:
        return f"{self.deployment.database_prefix}customer"

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


def upsert(code: str) -> MdmCustomerUpserted:
    return MdmCustomerUpserted.model_validate(
        {
            "mdm_code": code,
            "version": 1,
            "record": {"kind": "person", "first_name": "Fault", "last_name": code,
                       "email": f"{code.lower()}@example.org"},
        }
    )  # fmt: skip


async def send_acknowledged(
    producer: AIOKafkaProducer, topic: str, codes: Sequence[str], within: float = 90
) -> list[str]:
    """Send each upsert until the broker acknowledges it (a source system's retries)."""
    acknowledged = []
    for code in codes:
        envelope = upsert(code).envelope(source="erp/mdm-hub", subject=code)
        deadline = time.monotonic() + within
        while True:
            try:
                await producer.send_and_wait(
                    topic, envelope.body(), key=code.encode(), headers=envelope.headers()
                )
                acknowledged.append(code)
                break
            except KafkaError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
    return acknowledged


async def assert_each_applied_once(
    service: CustomerService, mongo_url: str, codes: Sequence[str], extra_ids: Sequence[str] = ()
) -> None:
    """Every code is one customer at version 1, with one CustomerRegistered event id on the
    topic and one history entry; no outbox holds an event any more."""
    mongo: AsyncMongoClient = AsyncMongoClient(mongo_url, tz_aware=True)
    customers = mongo[service.database].customers
    try:

        async def stored() -> list[dict] | None:
            found = await customers.find({"mdm_code": {"$in": list(codes)}}).to_list(None)
            return found if len(found) == len(codes) else None

        found = await eventually(stored, what="every acknowledged upsert stored", timeout=90)
        assert sorted(d["mdm_code"] for d in found) == sorted(codes)
        assert {d["version"] for d in found} == {1}, "no upsert applied twice"
        ids = {d["_id"] for d in found} | set(extra_ids)

        async def drained() -> bool:
            pending = {"outbox.0": {"$exists": True}}
            return await customers.count_documents(pending, hint={"$natural": 1}) == 0

        await eventually(drained, what="every outbox delivered", timeout=30)
    finally:
        await mongo.close()

    def registered(records) -> dict[str, set[str]]:
        seen: dict[str, set[str]] = {}
        for record in records:
            if header(record, "ce_type") == "cdp.customer.CustomerRegistered":
                subject = record.key.decode()
                if subject in ids:
                    seen.setdefault(subject, set()).add(header(record, "ce_id") or "")
        return seen

    records = await read_topic(
        service.deployment.servers.kafka_bootstrap_servers,
        service.topic("customer.events"),
        timeout=30,
        until=lambda rs: set(registered(rs)) == ids,
    )
    events = registered(records)
    assert set(events) == ids, "every customer's CustomerRegistered is on the topic"
    assert all(len(e) == 1 for e in events.values()), "one event id per customer"
    async with httpx.AsyncClient(base_url=service.url, headers=AUTH, timeout=10) as client:
        for cid in sorted(ids):

            async def history(cid: str = cid) -> list | None:
                items = (await client.get(f"/customers/{cid}/history")).json()["items"]
                return items or None

            entries = await eventually(history, what=f"{cid}'s history", timeout=30)
            assert [e["version"] for e in entries] == [1], "one history entry: applied once"


async def test_kafka_killed_during_produce_and_consume_recovers_by_itself(
    servers, tmp_path
) -> None:
    kafka = start_kafka(tmp_path / "kafka", heap="384m")
    service = CustomerService(
        Servers(kafka.bootstrap_servers, servers.mongodb_url, "local"), tmp_path
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=5000,
        retry_backoff_ms=500,
    )
    try:
        await service.start()
        await producer.start()
        topic = service.topic("mdm.customers")
        codes = [f"KF-{uuid.uuid4().hex[:6]}-{i:02d}" for i in range(30)]
        acknowledged = await send_acknowledged(producer, topic, codes[:10])
        kafka.process.kill()  # mid-stream: the service is consuming and publishing
        sending = asyncio.create_task(send_acknowledged(producer, topic, codes[10:20]))
        await asyncio.sleep(3)  # the producers retry, the consumers lost their coordinator
        # same folder, same port; in a thread, so that the producer keeps retrying meanwhile
        kafka = await asyncio.to_thread(start_kafka, tmp_path / "kafka", heap="384m")
        acknowledged += await sending
        acknowledged += await send_acknowledged(producer, topic, codes[20:])
        async with httpx.AsyncClient(base_url=service.url, headers=AUTH, timeout=60) as client:
            created = await client.post(  # the service's producer is back too
                "/customers",
                json={"first_name": "Made", "last_name": "After", "email": "after@example.org"},
            )
        assert created.status_code == 201, created.text
        assert acknowledged == codes
        await assert_each_applied_once(
            service, servers.mongodb_url, acknowledged, [created.json()["id"]]
        )
    finally:
        await producer.stop()
        service.stop()
        kafka.process.stop()


async def test_database_killed_mid_stream_goes_unready_then_recovers_by_itself(
    servers, tmp_path
) -> None:
    mongo = start_mongo(tmp_path / "mongo", heap="512m")
    service = CustomerService(
        Servers(servers.kafka_bootstrap_servers, mongo.url, "local"), tmp_path
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=servers.kafka_bootstrap_servers, acks="all", enable_idempotence=True
    )
    try:
        await service.start()
        await producer.start()
        topic = service.topic("mdm.customers")
        codes = [f"DB-{uuid.uuid4().hex[:6]}-{i:03d}" for i in range(60)]
        acknowledged = await send_acknowledged(producer, topic, codes)
        mongo_client: AsyncMongoClient = AsyncMongoClient(mongo.url)
        try:

            async def some_applied() -> bool:
                query = {"mdm_code": {"$in": codes}}
                return await mongo_client[service.database].customers.count_documents(query) > 0

            await eventually(some_applied, what="the stream under way", interval=0.02)
        finally:
            await mongo_client.close()
        mongo.process.kill()
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:

            async def status(expected: int) -> bool:
                return (await client.get("/ready")).status_code == expected

            await eventually(lambda: status(503), what="readiness false", timeout=20)
            # same folder, same port
            mongo = await asyncio.to_thread(start_mongo, tmp_path / "mongo", heap="512m")
            await eventually(lambda: status(200), what="readiness true again", timeout=30)
        await assert_each_applied_once(service, mongo.url, acknowledged)
    finally:
        await producer.stop()
        service.stop()
        mongo.process.stop()
