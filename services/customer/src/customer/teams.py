"""The customer service's replica of the teams (from ``lists.teams``): which teams exist, so
what a caller names (a saved search's teams) can be checked without asking the lists service."""

from __future__ import annotations

from collections.abc import Sequence

from contracts.lists_events import TeamChanged
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from servicekit.consuming import Delivery, Rejection

TEAMS = "teams"


class TeamReplica:
    def __init__(self, db: AsyncDatabase) -> None:
        self.teams = db[TEAMS]

    async def on_team_events(self, deliveries: Sequence[Delivery]) -> list[Rejection]:
        """Hold the newest version of each team."""
        for delivery in deliveries:
            event = delivery.event
            if not isinstance(event, TeamChanged):
                continue
            try:
                await self.teams.update_one(
                    {
                        "_id": event.team_id,
                        "$or": [{"version": {"$lt": event.version}}, {"version": None}],
                    },
                    {"$set": {"name": event.name, "version": event.version}},
                    upsert=True,
                )
            except DuplicateKeyError:
                pass  # this version or a newer one is held already
        return []

    async def unknown(self, team_ids: Sequence[str]) -> list[str]:
        """The ids among ``team_ids`` of no known team."""
        if not team_ids:
            return []
        cursor = self.teams.find({"_id": {"$in": list(team_ids)}}, {"_id": 1})
        known = {doc["_id"] async for doc in cursor}
        return [t for t in team_ids if t not in known]
