"""Crash points for fault tests: ``CDP_FAULT_CRASH_AT=<point>`` makes the process SIGKILL itself
when it reaches that point, which is exactly what a crash looks like to the rest of the system.
``<point>:<n>`` crashes the n-th time the point is reached (a batch job in its n-th chunk)."""

from __future__ import annotations

import os
import signal

AFTER_STORE = "after_store"  # the database acknowledged the change, the broker has not
AFTER_PUBLISH = "after_publish"  # the broker acknowledged the events, the outbox is not cleared
JOB_AFTER_WRITE = "job_after_write"  # a batch job's chunk is written, its events not published
JOB_AFTER_PUBLISH = "job_after_publish"  # the chunk's events are published, not its checkpoint

_armed: str = ""
_remaining: int = 0


def arm(point: str) -> None:
    global _armed, _remaining
    name, _, nth = point.partition(":")
    _armed, _remaining = name, int(nth or 1)


def crash_point(point: str) -> None:
    global _remaining
    if _armed and _armed == point:
        _remaining -= 1
        if _remaining <= 0:
            os.kill(os.getpid(), signal.SIGKILL)
