"""Crash points for fault tests: ``CDP_FAULT_CRASH_AT=<point>`` makes the process SIGKILL itself
when it reaches that point, which is exactly what a crash looks like to the rest of the system.
``<point>:<path>`` narrows it to one consumer path (its slot's name), so a test can crash the
MDM ingest while the same process's HTTP writes and other consumers go on; ``<point>:<n>``
crashes the n-th time the point is reached (a batch job in its n-th chunk)."""

from __future__ import annotations

import os
import signal

AFTER_STORE = "after_store"  # the database acknowledged the change, the broker has not
AFTER_PUBLISH = "after_publish"  # the broker acknowledged the events, the outbox is not cleared
# (on a consumer path: the offsets are not committed)
BEFORE_COMMIT = "before_commit"  # a consumer's batch is stored and published, not committed
JOB_AFTER_WRITE = "job_after_write"  # a batch job's chunk is written, its events not published
JOB_AFTER_PUBLISH = "job_after_publish"  # the chunk's events are published, not its checkpoint

_armed: str = ""
_path: str | None = None
_remaining: int = 0


def arm(point: str) -> None:
    global _armed, _path, _remaining
    name, _, qualifier = point.partition(":")
    _armed = name
    _path = None if qualifier.isdigit() or not qualifier else qualifier
    _remaining = int(qualifier) if qualifier.isdigit() else 1


def crash_point(point: str, path: str | None = None) -> None:
    global _remaining
    if _armed and _armed == point and (_path is None or _path == path):
        _remaining -= 1
        if _remaining <= 0:
            os.kill(os.getpid(), signal.SIGKILL)
