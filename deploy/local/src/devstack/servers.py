"""Which Kafka and MongoDB the tests and the dev stack talk to.

1. ``KAFKA_BOOTSTRAP_SERVERS`` / ``MONGODB_URL`` if set: used as they are, nothing dropped.
2. else, where a Docker engine answers a ping (a laptop): testcontainers' Kafka and MongoDB with
   pinned images. The docker CLI alone proves nothing; the engine must answer.
3. else the locally provisioned servers (Kafka from its jars, the MongoDB-wire stand-in) on free
   ports in a temporary folder.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

KAFKA_IMAGE = "apache/kafka:4.1.1"
MONGO_IMAGE = "mongo:7.0"
DOCKER_PING_SECONDS = 3


@dataclass(frozen=True)
class Servers:
    kafka_bootstrap_servers: str
    mongodb_url: str
    origin: str  # "environment", "testcontainers" or "local"

    @property
    def shared(self) -> bool:
        """Servers given by environment variable belong to someone else: drop nothing there."""
        return self.origin == "environment"


def docker_engine_answers() -> bool:
    try:
        import docker  # testcontainers brings it

        client = docker.from_env(timeout=DOCKER_PING_SECONDS)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


@contextlib.contextmanager
def provide(work_dir: Path) -> Iterator[Servers]:
    kafka_env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mongo_env = os.environ.get("MONGODB_URL")
    with contextlib.ExitStack() as stack:
        use_docker = (not kafka_env or not mongo_env) and docker_engine_answers()
        if kafka_env:
            kafka = kafka_env
        elif use_docker:
            from testcontainers.kafka import KafkaContainer

            container = stack.enter_context(KafkaContainer(KAFKA_IMAGE).with_kraft())
            kafka = container.get_bootstrap_server()
        else:
            from devstack.kafka import start_kafka

            server = start_kafka(work_dir / "kafka")
            stack.callback(server.process.stop)
            kafka = server.bootstrap_servers
        if mongo_env:
            mongo = mongo_env
        elif use_docker:
            from testcontainers.mongodb import MongoDbContainer

            container = stack.enter_context(MongoDbContainer(MONGO_IMAGE))
            mongo = container.get_connection_url()
        else:
            from devstack.mongo import start_mongo

            mongo_server = start_mongo(work_dir / "mongo")
            stack.callback(mongo_server.process.stop)
            mongo = mongo_server.url
        origin = (
            "environment"
            if kafka_env and mongo_env
            else "testcontainers"
            if use_docker
            else "local"
        )
        yield Servers(kafka, mongo, origin)
