"""Crash points for fault tests: ``CDP_FAULT_CRASH_AT=<point>`` makes the process SIGKILL itself
when it reaches that point, which is exactly what a crash looks like to the rest of the system."""

from __future__ import annotations

import os
import signal

AFTER_STORE = "after_store"  # the database acknowledged the change, the broker has not
AFTER_PUBLISH = "after_publish"  # the broker acknowledged the events, the outbox is not cleared

_armed: str = ""


def arm(point: str) -> None:
    global _armed
    _armed = point


def crash_point(point: str) -> None:
    if _armed and _armed == point:
        os.kill(os.getpid(), signal.SIGKILL)
