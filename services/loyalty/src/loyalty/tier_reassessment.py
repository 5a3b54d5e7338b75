"""The tier reassessment (every member down one level at most if their tier points no longer
qualify) as a batch job: members a chunk at a time in id order from the checkpoint, their ledgers
read in one query per chunk, the moves written in one bulk. A moved member is stamped with the
job, so a job resumed after a crash does not move the members of the chunk after its checkpoint
down a second time. Tier moves publish no event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from servicekit.batch_jobs import BatchJobRunner, Chunk

from loyalty import domain
from loyalty.settings import LoyaltySettings
from loyalty.store import REASSESSED, LoyaltyStore, PointsStore

TIER_REASSESSMENT = "tier-reassessment"  # the batch job kind (loyalty.tiers)


@dataclass
class TierReassessments:
    jobs: BatchJobRunner

    async def run(self) -> dict[str, Any]:
        """Reassess every member now; answers when the job is done. A newer reassessment
        replaces one still running."""
        job = await self.jobs.submit(
            TIER_REASSESSMENT,
            {"at": datetime.now(UTC), "processed": 0, "changed": 0},
            supersedes={},
        )
        await self.jobs.wait(job["_id"])
        done = await self.jobs.get(job["_id"]) or job
        return {"members": done["processed"], "moved": done["changed"], "at": job["at"]}


class TierReassessment:
    kind = TIER_REASSESSMENT

    def __init__(
        self, store: LoyaltyStore, points: PointsStore, settings: LoyaltySettings, chunk_size: int
    ) -> None:
        self.store = store
        self.points = points
        self.settings = settings
        self.chunk_size = chunk_size

    async def run_chunk(self, job: Mapping[str, Any], after: Any) -> Chunk | None:
        members = await self.store.members_page(after, self.chunk_size)
        if not members:
            return None
        ids = [member["_id"] for member in members]
        ledgers = await self.points.entries_by_customer(ids)
        since = job["at"] - timedelta(days=self.settings.tier_window_days)
        moves: list[tuple[str, str, dict[str, Any]]] = []
        moved = 0
        for member in members:
            cid = member["_id"]
            if member.get(REASSESSED) == job["_id"]:
                moved += 1  # moved by this job before a crash
                continue
            if member["status"] != "active":
                continue
            points = domain.tier_points(ledgers.get(cid, []), since)
            tier = domain.assess_tier(member["tier"], points, self.settings.tiers, True)
            if tier != member["tier"]:
                change = {
                    "from": member["tier"],
                    "to": tier,
                    "at": datetime.now(UTC),
                    "reason": "reassessment",
                    "tier_points": points,
                    "actor": "system",
                }
                moves.append((cid, tier, change))
                moved += 1
        await self.store.move_tiers(moves, job["_id"])
        return Chunk(ids[-1], (), {"processed": len(ids), "changed": moved})

    async def finish(self, job: Mapping[str, Any]) -> None:
        pass
