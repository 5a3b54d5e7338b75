"""``./dev ops``: the platform's Kafka and outbox chores, against whatever cluster the ``CDP_``
variables name (``CDP_KAFKA_BOOTSTRAP_SERVERS``, ``CDP_MONGODB_URL``, ``CDP_TOPIC_PREFIX``,
``CDP_CONSUMER_GROUP_PREFIX``; ``CDP_DATABASE_PREFIX``, default ``cdp_``, names the services'
databases ``<prefix><service>``).

    ops lag [--group G ...]                     consumer lag per group and partition
    ops dead-letters [TOPIC ...] [--reason R]   dead-letter records with their reasons
    ops redrive TOPIC (--offset N ... | --reason R | --all) [--dry-run]
                                                re-publish dead letters to their original topic
    ops replay SERVICE (--earliest | --offset N | --time T) [--topic T] [--partition P]
                        [--dry-run]             reset a stopped service's groups to replay
    ops outbox [SERVICE ...]                    events awaiting publication per service

``--json`` (before the command) prints one JSON object a line instead of a table.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import KafkaConnectionError
from contracts.topics import SERVICES
from pymongo.errors import PyMongoError

from opskit import consumer_groups, dead_letters, outbox
from opskit.settings import OpsSettings


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="./dev ops",
        description="Kafka and outbox chores against the cluster the CDP_ variables name",
        epilog=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    commands = parser.add_subparsers(dest="command", required=True)

    lag = commands.add_parser("lag", help="consumer lag per group and partition")
    lag.add_argument("--group", action="append", default=[], help="a group as the cluster names it")

    listing = commands.add_parser("dead-letters", help="dead-letter records and their reasons")
    listing.add_argument("topics", nargs="*", help="e.g. commerce.purchases (default: all)")
    listing.add_argument("--reason", help="only those whose reason contains this")

    redrive = commands.add_parser("redrive", help="re-publish dead letters to the original topic")
    redrive.add_argument("topic", help="the topic (or its .dlt), e.g. commerce.purchases")
    which = redrive.add_mutually_exclusive_group(required=True)
    which.add_argument("--offset", type=int, action="append", help="a dead letter's offset")
    which.add_argument("--reason", help="those whose reason contains this")
    which.add_argument("--all", action="store_true", help="every record in the dead-letter topic")
    redrive.add_argument("--dry-run", action="store_true", help="say what would be sent")

    replay = commands.add_parser(
        "replay", help="reset a stopped service's consumer groups so it consumes again"
    )
    replay.add_argument("service", choices=SERVICES)
    start = replay.add_mutually_exclusive_group(required=True)
    start.add_argument("--earliest", action="store_true", help="from the first record kept")
    start.add_argument("--offset", type=int, help="from this offset on every partition")
    start.add_argument("--time", type=_time, help="from this time (ISO 8601; UTC if no zone)")
    replay.add_argument("--topic", help="only this topic of its groups (catalogue name)")
    replay.add_argument("--partition", type=int, help="only this partition")
    replay.add_argument("--dry-run", action="store_true", help="say what would be reset")

    report = commands.add_parser("outbox", help="events awaiting publication per service")
    report.add_argument("services", nargs="*", metavar="SERVICE", help="default: every service")
    return parser


def _table(rows: Sequence[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        for row in rows:
            print(json.dumps(row, default=str))
        return
    if not rows:
        print("(none)")
        return
    columns = list(rows[0])
    cells = [[("-" if row[c] is None else str(row[c])) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def _letter_row(d: dead_letters.DeadLetter) -> dict[str, Any]:
    return {
        "topic": d.topic,
        "offset": d.offset,
        "at": d.timestamp.isoformat(timespec="seconds"),
        "key": d.key.decode(errors="replace") if d.key is not None else None,
        "type": d.ce_type,
        "from": f"{d.original_topic}/{d.original_position}",
        "group": d.header("dlt_consumer_group"),
        "reason": d.reason,
    }


async def _run(args: argparse.Namespace, settings: OpsSettings) -> int:
    if args.command == "lag":
        lags = await consumer_groups.lag(settings, args.group)
        _table([dataclasses.asdict(r) for r in lags], args.json)
        if not args.json:
            totals: dict[str, int] = {}
            for r in lags:
                totals[r.group] = totals.get(r.group, 0) + r.lag
            print("total lag: " + ", ".join(f"{g} {n}" for g, n in totals.items()))
    elif args.command == "dead-letters":
        letters = await dead_letters.read(settings, args.topics)
        if args.reason:
            letters = dead_letters.select(letters, reason=args.reason)
        _table([_letter_row(d) for d in letters], args.json)
    elif args.command == "redrive":
        letters = dead_letters.select(
            await dead_letters.read(settings, [args.topic]),
            offsets=args.offset or (),
            reason=args.reason,
            every=args.all,
        )
        sent = letters if args.dry_run else await dead_letters.redrive(settings, letters)
        _table([_letter_row(d) for d in sent], args.json)
        verb = "would re-drive" if args.dry_run else "re-drove"
        print(f"{verb} {len(sent)} record(s)", file=sys.stderr)
    elif args.command == "replay":
        start = consumer_groups.ReplayFrom(args.earliest, args.offset, args.time)
        resets = await consumer_groups.replay(
            settings,
            args.service,
            start,
            topic=args.topic,
            partition=args.partition,
            dry_run=args.dry_run,
        )
        _table([dataclasses.asdict(r) for r in resets], args.json)
        verb = "would reset" if args.dry_run else "reset"
        print(f"{verb} {len(resets)} partition offset(s) of {args.service}", file=sys.stderr)
    elif args.command == "outbox":
        rows = await outbox.report(settings, args.services)
        now = datetime.now(UTC)
        _table(
            [
                {
                    "service": r.service,
                    "collection": r.collection,
                    "documents": r.documents,
                    "events": r.entries,
                    "oldest_seconds": (
                        round((now - r.oldest).total_seconds(), 1) if r.oldest else None
                    ),
                    "topics": ", ".join(f"{t} {n}" for t, n in sorted(r.by_topic.items())),
                }
                for r in rows
            ],
            args.json,
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_run(args, OpsSettings()))
    except (ValueError, consumer_groups.GroupActive) as exc:
        print(f"ops: {exc}", file=sys.stderr)
        return 2
    except (KafkaConnectionError, PyMongoError) as exc:
        print(f"ops: cannot reach the cluster the CDP_ variables name: {exc}", file=sys.stderr)
        return 1
