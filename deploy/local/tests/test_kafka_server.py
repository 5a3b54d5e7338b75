"""The local Kafka broker serves, keeps its data across a restart, and says why a start failed."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from devstack.kafka import start_kafka
from devstack.process import ServerStartError

pytestmark = pytest.mark.servers


async def _produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()


async def _read_all(bootstrap: str, topic: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=5000)
        return [record.value for records in batches.values() for record in records]
    finally:
        await consumer.stop()


async def test_broker_keeps_topics_and_records_across_a_restart(tmp_path: Path) -> None:
    server = start_kafka(tmp_path / "kafka")
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=server.bootstrap_servers)
        await admin.start()
        await admin.create_topics([NewTopic("kept", num_partitions=2, replication_factor=1)])
        await admin.close()
        await _produce(server.bootstrap_servers, "kept", b"before restart")
    finally:
        server.process.stop()

    again = start_kafka(tmp_path / "kafka")
    try:
        assert again.port == server.port  # clients configured before the restart still connect
        assert await _read_all(again.bootstrap_servers, "kept") == [b"before restart"]
    finally:
        again.process.stop()


def test_a_start_that_cannot_bind_fails_with_the_broker_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServerStartError) as failure:
            start_kafka(tmp_path / "kafka", port, timeout=60)
    message = str(failure.value)
    assert "kafka failed to start" in message
    assert "kafka.log" in message  # the tail of the broker's own log follows


def test_cluster_ids_never_look_like_an_option() -> None:
    from devstack.kafka import new_cluster_id

    ids = [new_cluster_id() for _ in range(2000)]  # ~1 in 64 raw ids starts with "-"
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
