"""Team scope of profile edits: the replica of the lists service's teams and plans (from
``lists.teams`` and ``lists.plans``), and the check that refuses a profile edit that would move
the list of a team the caller does not act for (see domain.team_scope)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contracts.lists_events import PlanChanged, TeamChanged
from servicekit.auth import Identity
from servicekit.consuming import Delivery, Rejection
from servicekit.problems import Forbidden

from segmentation.domain.team_scope import PlanScope, teams_moved_by
from segmentation.store import PLANS, TEAMS, SegmentationStore


class TeamScope:
    def __init__(self, store: SegmentationStore) -> None:
        self.store = store

    async def on_team_and_plan_events(self, deliveries: Sequence[Delivery]) -> list[Rejection]:
        """Keep the replica: the newest version of each team and plan wins."""
        for delivery in deliveries:
            event = delivery.event
            if isinstance(event, TeamChanged):
                await self.store.upsert_versioned(
                    TEAMS, event.team_id, event.version, {"bricks": sorted(event.bricks)}
                )
            elif isinstance(event, PlanChanged):
                await self.store.upsert_versioned(
                    PLANS,
                    event.plan_id,
                    event.version,
                    {
                        "team_id": event.team_id,
                        "segmentations": sorted(event.segmentations),
                        "primary_address_only": event.primary_address_only,
                        "status": event.status,
                    },
                )
        return []

    async def check_profile_edit(
        self, identity: Identity, customer: Mapping[str, Any], segmentation: str
    ) -> None:
        """Refuse (403, naming no team) an edit of the customer's profile in ``segmentation``
        that can move the list of a team the caller does not act for."""
        if identity.role == "admin":
            return
        plans = [
            PlanScope(
                team_id=doc["team_id"],
                segmentations=frozenset(doc.get("segmentations", ())),
                primary_address_only=doc.get("primary_address_only", True),
            )
            for doc in await self.store.plans_assigning(segmentation)
        ]
        if not plans:
            return
        territories = await self.store.territories(sorted({p.team_id for p in plans}))
        record: dict[str, Any] = dict(customer.get("customer") or {})
        moved = teams_moved_by(segmentation, record, plans, territories)
        if any(not identity.can_act_for_team(team) for team in moved):
            raise Forbidden("not allowed")
