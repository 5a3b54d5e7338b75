"""Teams and plans as event-carried state: each change of a team or a plan publishes its state
after the change (``lists.teams``, ``lists.plans``, compacted), so other services scope what a
caller may do by team with their own replica (services never call each other).

The event goes in the changed document's outbox, in the same update as the change; ``version``
increases with every change, and consumers apply only a newer one. At start-up every team and
plan is published again (a few documents; consumers ignore what they hold already), so teams
and plans made before a consumer existed reach it too."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contracts.lists_events import PlanChanged, TeamChanged
from contracts.topics import LISTS_PLANS, LISTS_TEAMS
from servicekit import outbox
from servicekit.logging import correlation_id
from servicekit.messaging import Publisher
from servicekit.outbox import OutboxRelay
from servicekit.settings import ServiceSettings

SOURCE = "cdp/lists"


class Directory:
    def __init__(
        self, settings: ServiceSettings, teams_relay: OutboxRelay, plans_relay: OutboxRelay
    ) -> None:
        self.settings = settings
        self.teams_relay = teams_relay
        self.plans_relay = plans_relay

    def team_entry(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """The outbox entry of a team's state (``doc``: the team after the change)."""
        event = TeamChanged(
            team_id=doc["_id"],
            name=doc["name"],
            bricks=sorted(doc.get("bricks", ())),
            reps=sorted(doc.get("reps", ())),
            version=doc.get("version", 0),
        )
        envelope = event.envelope(
            source=SOURCE, subject=doc["_id"], correlation_id=correlation_id.get()
        )
        return outbox.entry(self.settings.topic(LISTS_TEAMS.name), doc["_id"], envelope)

    def plan_entry(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """The outbox entry of a plan's state (``doc``: the plan after the change)."""
        event = PlanChanged(
            plan_id=doc["_id"],
            team_id=doc["team_id"],
            period=doc["period"],
            segmentations=list(doc["segmentations"]),
            primary_address_only=doc.get("primary_address_only", True),
            status=doc["status"],
            version=doc.get("version", 0),
        )
        envelope = event.envelope(
            source=SOURCE, subject=doc["_id"], correlation_id=correlation_id.get()
        )
        return outbox.entry(self.settings.topic(LISTS_PLANS.name), doc["_id"], envelope)

    async def team_changed(self, team_id: str, entry: dict[str, Any]) -> None:
        await self.teams_relay.deliver({team_id: [entry]})

    async def plan_changed(self, plan_id: str, entry: dict[str, Any]) -> None:
        await self.plans_relay.deliver({plan_id: [entry]})

    async def publish_all(
        self,
        publisher: Publisher,
        teams: Sequence[Mapping[str, Any]],
        plans: Sequence[Mapping[str, Any]],
    ) -> None:
        """Every team's and plan's state again (start-up)."""
        entries = [self.team_entry(t) for t in teams] + [self.plan_entry(p) for p in plans]
        if entries:
            await publisher.publish([outbox.to_record(e) for e in entries])
