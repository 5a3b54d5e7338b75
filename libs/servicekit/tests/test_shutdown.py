"""Stopping a service while its batch jobs run (a segmentation recompute, a list rebuild): every
job task ends, a job started meanwhile is left to the next start, and the relays and the
producer are closed even when an earlier step of the stop fails."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from servicekit.batch_jobs import COLLECTION, RUNNING, BatchJobRunner, Chunk
from servicekit.runtime import ServiceRuntime
from servicekit.settings import ServiceSettings


class Waiting:
    """A kind whose chunks wait until the job is cancelled."""

    kind = "waiting"

    async def run_chunk(self, job: Mapping[str, Any], after: Any) -> Chunk | None:
        await asyncio.Event().wait()
        return None

    async def finish(self, job: Mapping[str, Any]) -> None:
        pass


class Publisher:
    def __init__(self) -> None:
        self.stopped = False

    async def publish(self, records: list[Any]) -> None:
        pass

    async def stop(self) -> None:
        self.stopped = True


@pytest.mark.servers
async def test_a_job_submitted_while_the_runner_stops_is_left_for_the_next_start(
    mongo_db,
) -> None:
    runner = BatchJobRunner(mongo_db[COLLECTION], Publisher())  # type: ignore[arg-type]
    runner.register(Waiting())
    await runner.create_indexes()
    running = [await runner.submit("waiting", {}) for _ in range(3)]
    _, late = await asyncio.gather(runner.stop(), runner.submit("waiting", {}))
    assert runner.running == set(), "no job task outlives the stop"
    for job in [*running, late]:
        stored = await runner.get(job["_id"])
        assert stored is not None and stored["state"] == RUNNING, "resumed at the next start"


async def test_the_relays_and_the_producer_are_closed_even_if_the_jobs_fail_to_stop() -> None:
    runtime = ServiceRuntime(ServiceSettings(env="dev"), consumes=False)
    publisher, relays_stopped = Publisher(), []

    class Relay:
        async def stop(self) -> None:
            relays_stopped.append(True)

    async def failing_stop() -> None:
        raise RuntimeError("a job would not stop")

    runtime.publisher = publisher  # type: ignore[assignment]
    runtime.relays = [Relay(), Relay()]  # type: ignore[list-item]
    runtime.jobs.stop = failing_stop  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="would not stop"):
        await runtime.stop()
    assert relays_stopped == [True, True] and publisher.stopped
