"""The ops CLI against the real broker and database server: consumer lag, dead letters (written
by servicekit's own consumer path) and their re-drive, a service's replay by offset reset, and
the outbox report. Each test module gets topics, groups and databases of its own, so nothing
here reaches the running platform's consumers."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from contracts.commerce import PurchaseMade
from contracts.envelope import Envelope
from contracts.marketing import FeedbackGiven
from contracts.topics import COMMERCE_PURCHASES
from devstack.servers import Servers
from devstack.topics import create_topics
from opskit import cli, consumer_groups, dead_letters, outbox
from opskit.settings import OpsSettings
from pymongo import AsyncMongoClient
from servicekit.consuming import Delivery, Rejection, process_batch
from servicekit.messaging import Publisher
from servicekit.outbox import OutboxRelay, entry
from servicekit.settings import ServiceSettings

pytestmark = pytest.mark.servers
PARTITIONS = 3


@pytest.fixture(scope="module")
def ops(servers: Servers) -> OpsSettings:
    run = uuid.uuid4().hex[:8]
    settings = OpsSettings(
        kafka_bootstrap_servers=servers.kafka_bootstrap_servers,
        mongodb_url=servers.mongodb_url,
        topic_prefix=f"ops{run}.",
        consumer_group_prefix=f"ops{run}.",
        database_prefix=f"ops{run}_",
    )
    asyncio.run(create_topics(servers.kafka_bootstrap_servers, settings.topic_prefix, PARTITIONS))
    return settings


@pytest.fixture
def env(ops: OpsSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads where to connect from the environment, as in production."""
    for name, value in ops.model_dump().items():
        monkeypatch.setenv(f"CDP_{name.upper()}", str(value))


@pytest_asyncio.fixture(loop_scope="session")
async def producer(servers: Servers) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(bootstrap_servers=servers.kafka_bootstrap_servers, acks="all")
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def _cli(argv: Sequence[str]) -> tuple[int, list[dict], str]:
    """``./dev ops --json ARGV`` in this process (in a thread: it runs its own event loop);
    (exit code, JSON lines, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = await asyncio.to_thread(cli.main, ["--json", *argv])
    rows = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return code, rows, err.getvalue()


async def _cli_process(argv: Sequence[str]) -> tuple[int, list[dict]]:
    """The same as a process, as ``./dev ops`` runs it (``python -m opskit``)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "opskit",
        "--json",
        *argv,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    rows = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    return process.returncode or 0, rows


async def _read_from(servers: Servers, tp: TopicPartition, start: int) -> list:
    consumer = AIOKafkaConsumer(bootstrap_servers=servers.kafka_bootstrap_servers)
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, start)
        records = []
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            records += batch.get(tp, [])
        return records
    finally:
        await consumer.stop()


async def _end_offsets(servers: Servers, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=servers.kafka_bootstrap_servers)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


def _purchase(order: str, customer: str) -> Envelope:
    return PurchaseMade(
        order_id=order,
        customer_id=customer,
        lines=[{"product": "p1", "category": "c", "quantity": 1, "amount": "9.50"}],
        currency="EUR",
        purchased_at=datetime(2026, 11, 1, 12, tzinfo=UTC),
        store="web",
    ).envelope(source="commerce/test", subject=customer)


async def test_dead_letters_are_listed_with_their_reasons_and_re_driven(
    ops: OpsSettings, servers: Servers, producer: AIOKafkaProducer, env: None
) -> None:
    topic = ops.topic(COMMERCE_PURCHASES.name)
    good = _purchase("o-1", "c-1")
    unknown = Envelope(type="cdp.commerce.Refunded", source="commerce/test", data={"a": 1})
    sent = [
        await producer.send_and_wait(topic, b"not json", key=b"c-2", headers=good.headers()),
        await producer.send_and_wait(topic, unknown.body(), key=b"c-3", headers=unknown.headers()),
        await producer.send_and_wait(topic, good.body(), key=b"c-1", headers=good.headers()),
    ]
    records = []
    for meta in sent:
        tp = TopicPartition(topic, meta.partition)
        records += [
            r for r in await _read_from(servers, tp, meta.offset) if r.offset == meta.offset
        ]

    # servicekit's consumer path writes the dead letters: two undecodable, one the domain rejects
    async def no_member(deliveries: Sequence[Delivery]) -> list[Rejection]:
        return [Rejection(d.record, f"customer {d.key} is no loyalty member") for d in deliveries]

    settings = ServiceSettings(
        env="dev",
        service_name="loyalty",
        kafka_bootstrap_servers=servers.kafka_bootstrap_servers,
        topic_prefix=ops.topic_prefix,
    )
    publisher = Publisher(settings)
    await publisher.start()
    try:
        await process_batch(
            records, {topic: COMMERCE_PURCHASES}, no_member, publisher, settings, "g-purchases"
        )
    finally:
        await publisher.stop()

    letters = await dead_letters.read(ops, ["commerce.purchases"])
    assert len(letters) == 3
    reasons = {d.key: d.reason for d in letters}
    assert reasons[b"c-2"].startswith("invalid cdp.commerce.PurchaseMade: Invalid JSON")
    assert "unknown event type 'cdp.commerce.Refunded'" in reasons[b"c-3"]
    assert reasons[b"c-1"] == "customer c-1 is no loyalty member"
    assert {d.original_topic for d in letters} == {topic}

    code, rows, _ = await _cli(["dead-letters", "commerce.purchases.dlt"])
    assert code == 0
    assert {r["key"]: r["reason"] for r in rows} == {
        k.decode(): v for k, v in reasons.items() if k is not None
    }
    assert {r["group"] for r in rows} == {"g-purchases"}

    # the fix is in: re-drive the purchase the domain refused, by its reason
    ends = await _end_offsets(servers, topic)
    code, rows, err = await _cli(["redrive", "commerce.purchases", "--reason", "NO LOYALTY"])
    assert code == 0 and len(rows) == 1 and "re-drove 1 record" in err
    member_tp = TopicPartition(topic, sent[2].partition)
    [again] = await _read_from(servers, member_tp, ends[member_tp])
    original = records[2]
    assert (again.key, again.value) == (original.key, original.value)
    headers = dict(again.headers)
    assert list(again.headers[:-1]) == list(original.headers)  # ce_* and content-type
    assert not any(n.startswith("dlt_") for n in headers)
    rejected = next(d for d in letters if d.key == b"c-1")
    assert headers["cdp_redriven_from"] == f"{rejected.topic}/0/{rejected.offset}".encode()

    # by offset, and all of them; a dry run sends nothing
    chosen = dead_letters.select(letters, offsets=[letters[0].offset])
    assert [d.offset for d in chosen] == [letters[0].offset]
    before = await _end_offsets(servers, topic)
    code, rows, err = await _cli(["redrive", "commerce.purchases", "--all", "--dry-run"])
    assert (code, len(rows), await _end_offsets(servers, topic)) == (0, 3, before)
    assert await dead_letters.redrive(ops, dead_letters.select(letters, every=True)) == letters
    after = await _end_offsets(servers, topic)
    assert sum(after.values()) - sum(before.values()) == 3
    with pytest.raises(ValueError, match="say which records"):
        dead_letters.select(letters)


async def _commit(ops: OpsSettings, group: str, offsets: dict[TopicPartition, int]) -> None:
    await consumer_groups._commit(ops, ops.group(group), offsets)


async def test_consumer_lag_per_group_and_partition(
    ops: OpsSettings, producer: AIOKafkaProducer, env: None
) -> None:
    topic = ops.topic("customer.events")
    metas = [await producer.send_and_wait(topic, b"{}", key=f"c-{i}".encode()) for i in range(6)]
    ends = {p: 1 + max((m.offset for m in metas if m.partition == p), default=-1) for p in range(3)}
    behind = metas[0].partition  # loyalty's group is two records behind there, current elsewhere
    await _commit(
        ops,
        "loyalty-customers",
        {TopicPartition(topic, p): max(e - (2 if p == behind else 0), 0) for p, e in ends.items()},
    )
    rows = [r for r in await consumer_groups.lag(ops) if r.topic == topic]
    loyalty = {r.partition: r for r in rows if r.group == ops.group("loyalty-customers")}
    assert {p: r.lag for p, r in loyalty.items()} == {
        p: min(2, e) if p == behind else 0 for p, e in ends.items()
    }
    # a group that never committed starts at the earliest record: all of it is lag
    history = {r.partition: r for r in rows if r.group == ops.group("customer-history")}
    assert {p: (r.committed, r.lag) for p, r in history.items()} == {
        p: (None, e) for p, e in ends.items()
    }
    code, out = await _cli_process(["lag", "--group", ops.group("loyalty-customers")])
    assert code == 0
    assert {(r["partition"], r["lag"]) for r in out} == {(p, r.lag) for p, r in loyalty.items()}


async def test_a_stopped_services_replay_from_a_time_an_offset_or_the_start(
    ops: OpsSettings, servers: Servers, producer: AIOKafkaProducer, env: None
) -> None:
    topic = ops.topic("feedback.responses")
    # recent: records older than the topic's retention may be deleted under the test
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    metas = []
    for hour in range(3):
        event = FeedbackGiven(
            response_id=f"r-{hour}", customer_id="c-7", nps=9, given_at=t0 + timedelta(hours=hour)
        ).envelope(source="feedback/test", subject="c-7")
        metas.append(
            await producer.send_and_wait(
                topic,
                event.body(),
                key=b"c-7",
                headers=event.headers(),
                timestamp_ms=int((t0 + timedelta(hours=hour)).timestamp() * 1000),
            )
        )
    partition = metas[0].partition
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    ends = await _end_offsets(servers, topic)
    await _commit(ops, "loyalty-engagement", ends)
    group = ops.group("loyalty-engagement")

    async def committed() -> dict[int, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap_servers)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(group, partitions=tps)
            return {tp.partition: meta.offset for tp, meta in offsets.items()}
        finally:
            await admin.close()

    at_half_past = consumer_groups.ReplayFrom(time=t0 + timedelta(minutes=30))
    preview = await consumer_groups.replay(
        ops, "loyalty", at_half_past, topic="feedback.responses", dry_run=True
    )
    assert {(r.group, r.partition, r.before) for r in preview} == {
        (group, tp.partition, ends[tp]) for tp in tps
    }
    assert await committed() == {tp.partition: ends[tp] for tp in tps}  # a dry run
    await consumer_groups.replay(ops, "loyalty", at_half_past, topic="feedback.responses")
    # the record of t0 + 1 h and after again; partitions with nothing since stay at their end
    expected = {tp.partition: ends[tp] for tp in tps} | {partition: metas[1].offset}
    assert await committed() == expected

    code, rows, err = await _cli(
        ["replay", "loyalty", "--offset", str(metas[2].offset), "--topic", "feedback.responses",
         "--partition", str(partition)]
    )  # fmt: skip
    assert code == 0 and [r["after"] for r in rows] == [metas[2].offset]
    assert (await committed())[partition] == metas[2].offset
    await consumer_groups.replay(
        ops, "loyalty", consumer_groups.ReplayFrom(earliest=True), topic="feedback.responses"
    )
    assert await committed() == {tp.partition: 0 for tp in tps}

    # while a loyalty process runs, its group's offsets are its own: refused
    member = AIOKafkaConsumer(
        topic, bootstrap_servers=servers.kafka_bootstrap_servers, group_id=group
    )
    await member.start()
    try:
        for _ in range(50):
            if member.assignment():
                break
            await member.getmany(timeout_ms=200)
        assert member.assignment()
        with pytest.raises(consumer_groups.GroupActive, match="stop every loyalty process"):
            await consumer_groups.replay(ops, "loyalty", consumer_groups.ReplayFrom(earliest=True))
        code, _, err = await _cli(["replay", "loyalty", "--earliest"])
        assert code == 2 and "live member" in err
    finally:
        await member.stop()


async def test_the_outbox_report_counts_events_awaiting_publication(
    ops: OpsSettings, servers: Servers, env: None
) -> None:
    client: AsyncMongoClient = AsyncMongoClient(servers.mongodb_url, tz_aware=True)
    db = client[ops.database("loyalty")]
    try:
        members = db["members"]
        await OutboxRelay(members, publisher=None).create_index()  # type: ignore[arg-type]
        event = _purchase("o-9", "c-9")
        old = entry(ops.topic("loyalty.events"), "c-9", event)
        old["at"] = datetime.now(UTC) - timedelta(minutes=5)
        await members.insert_many(
            [
                {"_id": "c-9", "outbox": [old, entry(ops.topic("loyalty.events"), "c-9", event)]},
                {"_id": "c-8", "outbox": [entry(ops.topic("customer.events"), "c-8", event)]},
                {"_id": "c-7"},  # published and cleared
            ]
        )
        await db["points"].insert_one({"_id": "p-1"})  # no outbox here
        [row] = await outbox.report(ops, ["loyalty"])
        assert (row.collection, row.documents, row.entries) == ("members", 2, 3)
        assert row.by_topic == {ops.topic("loyalty.events"): 2, ops.topic("customer.events"): 1}
        assert row.oldest is not None
        assert datetime.now(UTC) - row.oldest > timedelta(minutes=4)
        code, rows, _ = await _cli(["outbox"])
        assert code == 0
        assert [(r["service"], r["collection"], r["events"]) for r in rows] == [
            ("loyalty", "members", 3)
        ]
        assert rows[0]["oldest_seconds"] >= 240
        with pytest.raises(ValueError, match="unknown service"):
            await outbox.report(ops, ["billing"])
    finally:
        if not servers.shared:
            await client.drop_database(db.name)
        await client.close()
