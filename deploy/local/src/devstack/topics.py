"""Create the catalogue's topics (contracts.topics) on a Kafka cluster; idempotent."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from contracts.topics import physical_topics


async def create_topics(
    bootstrap_servers: str, prefix: str = "", partitions: int | None = None
) -> list[str]:
    wanted = physical_topics(prefix, partitions)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(
                t.name,
                num_partitions=t.partitions,
                replication_factor=1,
                topic_configs=t.configs,
            )
            for t in wanted
            if t.name not in existing
        ]
        if new:
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass  # another process created them meanwhile
        return [t.name for t in wanted]
    finally:
        await admin.close()
