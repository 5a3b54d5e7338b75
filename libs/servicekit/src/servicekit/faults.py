"""Crash points for fault tests: ``CDP_FAULT_CRASH_AT=<point>`` makes the process SIGKILL itself
when it reaches that point, which is exactly what a crash looks like to the rest of the system.
``<point>:<path>`` narrows it to one consumer path (its slot's name), so a test can crash the
MDM ingest while the same process's HTTP writes and other consumers go on."""

from __future__ import annotations

import os
import signal

AFTER_STORE = "after_store"  # the database acknowledged the change, the broker has not
AFTER_PUBLISH = "after_publish"  # the broker acknowledged the events, the outbox is not cleared
# (on a consumer path: the offsets are not committed)
BEFORE_COMMIT = "before_commit"  # a consumer's batch is stored and published, not committed

_armed: str = ""


def arm(point: str) -> None:
    global _armed
    _armed = point


def crash_point(point: str, path: str | None = None) -> None:
    if _armed and (_armed == point or (path is not None and _armed == f"{point}:{path}")):
        os.kill(os.getpid(), signal.SIGKILL)
