"""Jobs that run every so often in the service process (RFM, tier reassessment). Each job is
safe to run in several replicas at once, so no leader election is needed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from servicekit.logging import get_logger

log = get_logger(__name__)


@dataclass
class Periodic:
    name: str
    every_seconds: float  # 0: never (the job runs on request only)
    job: Callable[[], Awaitable[Any]]
    _task: asyncio.Task[None] | None = field(default=None)

    def start(self) -> None:
        if self.every_seconds > 0:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_seconds)
            try:
                await self.job()
            except Exception:
                log.exception("scheduled job failed; the next run retries", job=self.name)
