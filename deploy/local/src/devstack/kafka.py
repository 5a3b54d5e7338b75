"""A real Apache Kafka broker (KRaft, one combined broker+controller node) from its Maven jars.

The jars come from ``deploy/local/kafka/pom.xml`` (built once into ~/.cache/cdp). A data folder
holds the broker's config, its log dirs and the ports it was given, so starting again on the same
folder brings back the same cluster with its topics and committed offsets.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from devstack.process import (
    ServerProcess,
    ServerStartError,
    free_port,
    java_executable,
    maven_classpath,
)

PROJECT_DIR = Path(__file__).resolve().parents[2] / "kafka"
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"


@dataclass
class KafkaServer:
    port: int
    controller_port: int
    data_dir: Path
    process: ServerProcess

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"


def server_properties(data_dir: Path, port: int, controller_port: int) -> str:
    """One node that is broker and controller; every internal topic at replication factor 1."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir / "logs"),
        "num.partitions": "3",
        "offsets.topic.num.partitions": "12",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "min.insync.replicas": "1",
        # Topics are declared (contracts.topics); a typo must fail, not create a stray topic.
        "auto.create.topics.enable": "false",
        # One consumer per group joins at a time in tests and dev: no need to wait for more.
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": "168",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def _ports(data_dir: Path, port: int | None, controller_port: int | None) -> tuple[int, int]:
    """Ports given, else the ones this folder used before (its log dirs name them), else free."""
    remembered = data_dir / "ports.json"
    previous = json.loads(remembered.read_text()) if remembered.exists() else {}
    chosen = (
        port or previous.get("port") or free_port(),
        controller_port or previous.get("controller_port") or free_port(),
    )
    remembered.write_text(json.dumps({"port": chosen[0], "controller_port": chosen[1]}))
    return chosen


def _java(classpath: list[Path], heap: str) -> list[str]:
    return [
        java_executable(),
        f"-Xmx{heap}",
        "-Xms128m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={PROJECT_DIR / 'log4j2.properties'}",
        "-cp",
        os.pathsep.join(str(jar) for jar in classpath),
    ]


def new_cluster_id() -> str:
    """A base64url UUID, as Kafka makes them; never starting with "-", which the storage tool's
    argument parser would take for an option (Kafka's own Uuid.randomUuid() avoids it too)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _format_storage(java: list[str], config: Path, data_dir: Path) -> None:
    """Give a new folder its cluster id; a formatted one is left as it is."""
    if (data_dir / "logs" / "meta.properties").exists():
        return
    cluster_id = new_cluster_id()
    tool = ServerProcess(
        "kafka-storage-format",
        [*java, STORAGE_TOOL, "format", "-t", cluster_id, "-c", str(config)],
        data_dir / "format.log",
    ).start()
    assert tool.popen is not None
    code = tool.popen.wait(120)
    if code != 0:
        raise ServerStartError("kafka", f"storage format exited {code}", tool.log_path)


def describe_cluster(bootstrap_servers: str) -> bool:
    """True once the broker answers metadata requests and knows its controller."""
    host, port = bootstrap_servers.rsplit(":", 1)
    try:  # a closed port is the common case while starting: no client (and its error log) yet
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False

    async def describe() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=3000)
        await admin.start()
        try:
            cluster = await admin.describe_cluster()
            return bool(cluster.get("brokers")) and cluster.get("controller_id", -1) >= 0
        finally:
            await admin.close()

    # Callers may already run an event loop (pytest-asyncio); the probe gets its own thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, describe()).result()


def start_kafka(
    data_dir: Path,
    port: int | None = None,
    controller_port: int | None = None,
    *,
    timeout: float = 90,
    heap: str = "768m",
) -> KafkaServer:
    """Start (or restart on the same ``data_dir``) a broker and wait until it serves metadata."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port, controller_port = _ports(data_dir, port, controller_port)
    java = _java(maven_classpath(PROJECT_DIR, "kafka"), heap)
    config = data_dir / "server.properties"
    config.write_text(server_properties(data_dir, port, controller_port))
    _format_storage(java, config, data_dir)
    process = ServerProcess("kafka", [*java, MAIN_CLASS, str(config)], data_dir / "kafka.log")
    server = KafkaServer(port, controller_port, data_dir, process.start())
    process.wait_ready(lambda: describe_cluster(server.bootstrap_servers), timeout)
    return server
