"""Consumer groups: their lag per partition, and a service's replay by resetting its groups'
committed offsets (to the earliest record, an offset, or a time) while the service is stopped.

The groups and the topics they read come from the catalogue (``contracts.topics``), so the
commands know every group a service runs even before it has committed anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition
from contracts.topics import CATALOGUE, SERVICES

from opskit.kafka import admin, partitions, reader
from opskit.settings import OpsSettings


@dataclass(frozen=True)
class GroupTopics:
    service: str
    group: str  # as the catalogue names it, without the deployment's prefix
    topics: tuple[str, ...]


def catalogue_groups(service: str | None = None) -> list[GroupTopics]:
    """Every consumer group the catalogue declares (of one service), with the topics it reads."""
    found: dict[str, GroupTopics] = {}
    for topic in CATALOGUE:
        for s in topic.subscriptions:
            if service is not None and s.service != service:
                continue
            known = found.get(s.group, GroupTopics(s.service, s.group, ()))
            found[s.group] = GroupTopics(s.service, s.group, (*known.topics, topic.name))
    return list(found.values())


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None  # None: the group never committed here (it starts at the earliest)
    end: int
    lag: int


async def lag(settings: OpsSettings, groups: Sequence[str] = ()) -> list[PartitionLag]:
    """The lag of every catalogue group (or of ``groups``, as the cluster names them) on every
    partition it reads: the records after its committed offset."""
    wanted: dict[str, list[str]] = {}
    if groups:
        for name in groups:
            wanted[name] = []  # the topics it committed on
    else:
        for g in catalogue_groups():
            wanted[settings.group(g.group)] = [settings.topic(t) for t in g.topics]
    rows: list[PartitionLag] = []
    async with admin(settings) as client, reader(settings) as consumer:
        for group, topics in wanted.items():
            committed = await client.list_consumer_group_offsets(group)
            tps = (
                await partitions(client, topics)
                if topics
                else sorted(tp for tp, meta in committed.items() if meta.offset >= 0)
            )
            if not tps:
                continue
            ends = await consumer.end_offsets(tps)
            starts = await consumer.beginning_offsets(tps)
            for tp in tps:
                meta = committed.get(tp)
                offset = meta.offset if meta is not None and meta.offset >= 0 else None
                behind = ends[tp] - (offset if offset is not None else starts[tp])
                rows.append(
                    PartitionLag(group, tp.topic, tp.partition, offset, ends[tp], max(behind, 0))
                )
    return rows


class GroupActive(RuntimeError):
    """A group with live members: its offsets can be reset only while its service is stopped."""


@dataclass(frozen=True)
class OffsetReset:
    group: str
    topic: str
    partition: int
    before: int | None
    after: int


@dataclass(frozen=True)
class ReplayFrom:
    """Where a replay starts: exactly one of the three."""

    earliest: bool = False
    offset: int | None = None
    time: datetime | None = None


async def _members(client: AIOKafkaAdminClient, group: str) -> int:
    [response] = await client.describe_consumer_groups([group])
    # (error_code, group_id, state, protocol_type, protocol, members, ...)
    return sum(len(g[5]) for g in response.groups)


async def _targets(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], start: ReplayFrom
) -> dict[TopicPartition, int]:
    starts = await consumer.beginning_offsets(tps)
    ends = await consumer.end_offsets(tps)
    if start.earliest:
        return dict(starts)
    if start.offset is not None:
        offset = start.offset
        return {tp: min(max(offset, starts[tp]), ends[tp]) for tp in tps}
    assert start.time is not None
    millis = int(start.time.timestamp() * 1000)
    found = await consumer.offsets_for_times(dict.fromkeys(tps, millis))
    # no record at or after the time: the group starts at the end (replays nothing there)
    return {tp: (found[tp].offset if found.get(tp) else ends[tp]) for tp in tps}


async def replay(
    settings: OpsSettings,
    service: str,
    start: ReplayFrom,
    *,
    topic: str | None = None,
    partition: int | None = None,
    dry_run: bool = False,
) -> list[OffsetReset]:
    """Reset the committed offsets of ``service``'s consumer groups (on ``topic`` and
    ``partition`` only, when given) so that it consumes again from ``start`` when it next starts.
    Refused with :class:`GroupActive` while any of those groups has members."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    groups = [g for g in catalogue_groups(service) if topic is None or topic in g.topics]
    if not groups:
        raise ValueError(f"{service} has no consumer group reading {topic}")
    resets: list[OffsetReset] = []
    async with admin(settings) as client, reader(settings) as consumer:
        for g in groups:
            group = settings.group(g.group)
            members = await _members(client, group)
            if members:
                raise GroupActive(
                    f"consumer group {group} has {members} live member(s): stop every "
                    f"{service} process first (its offsets are the group's while it runs)"
                )
        for g in groups:
            group = settings.group(g.group)
            names = [settings.topic(t) for t in g.topics if topic is None or t == topic]
            tps = [
                tp
                for tp in await partitions(client, names)
                if partition is None or tp.partition == partition
            ]
            if not tps:
                continue
            committed = await client.list_consumer_group_offsets(group, partitions=tps)
            targets = await _targets(consumer, tps, start)
            for tp in tps:
                meta = committed.get(tp)
                before = meta.offset if meta is not None and meta.offset >= 0 else None
                resets.append(OffsetReset(group, tp.topic, tp.partition, before, targets[tp]))
            if not dry_run:
                await _commit(settings, group, targets)
    return resets


async def _commit(settings: OpsSettings, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit ``offsets`` for ``group`` from outside it: a consumer with the group's id, assigned
    the partitions by hand (it never joins), which Kafka accepts while the group is empty."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id="cdp-ops",
        group_id=group,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(dict(offsets))
    finally:
        await consumer.stop()
