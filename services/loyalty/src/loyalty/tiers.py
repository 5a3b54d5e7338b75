"""Tiers: upgrades after purchases, reassessments, a tier set by hand."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from servicekit.auth import Identity
from servicekit.problems import Invalid

from loyalty import domain
from loyalty.member_views import MemberViews


class Tiers(MemberViews):
    async def assess_tiers(
        self,
        customer_ids: Sequence[str],
        downgrade: bool,
        members: Mapping[str, dict[str, Any]] | None = None,
    ) -> int:
        """Move members to the tier their tier points qualify for: up at once (after a
        purchase), down one level at a periodic reassessment. Returns how many moved.
        ``members``: the members as the caller read them in this batch, if it did."""
        if members is None:
            members = await self.store.members_by_id(customer_ids)
        since, assessed, windows = await self.tier_windows(customer_ids, members, downgrade)
        return await self.move_tiers(assessed, members, windows, since, downgrade)

    async def upgrade_while_adding(
        self,
        customer_ids: Sequence[str],
        members: Mapping[str, dict[str, Any]],
        entries: Sequence[dict[str, Any]],
    ) -> None:
        """Add ledger entries and move their members up as the points qualify them: the
        window read goes together with the insert (one round trip less), and the entries
        being added are laid over what it found by id (it may have seen some of them)."""
        (since, assessed, windows), _ = await asyncio.gather(
            self.tier_windows(customer_ids, members, downgrade=False),
            self.points.add_entries(entries),
        )
        for entry in entries:
            if entry["customer_id"] in windows:
                windows[entry["customer_id"]][entry["_id"]] = entry
        await self.move_tiers(assessed, members, windows, since, downgrade=False)

    async def tier_windows(
        self, customer_ids: Sequence[str], members: Mapping[str, dict[str, Any]], downgrade: bool
    ) -> tuple[datetime, list[str], dict[str, dict[str, dict[str, Any]]]]:
        """The window's start, the members to assess and their entries in the window, by id
        (one query for them all)."""
        top = max(self.settings.tiers, key=lambda name: self.settings.tiers[name])
        active = [
            cid
            for cid in customer_ids
            if cid in members
            and members[cid]["status"] == "active"
            # after a purchase a member moves up only: at the top, there is nothing to read
            and (downgrade or members[cid]["tier"] != top)
        ]
        since = datetime.now(UTC) - timedelta(days=self.settings.tier_window_days)
        found = await self.points.entries_since(active, since)
        return since, active, {cid: {e["_id"]: e for e in found[cid]} for cid in active}

    async def move_tiers(
        self,
        customer_ids: Sequence[str],
        members: Mapping[str, dict[str, Any]],
        windows: Mapping[str, Mapping[str, dict[str, Any]]],
        since: datetime,
        downgrade: bool,
    ) -> int:
        moves = []
        for cid in customer_ids:
            member = members[cid]
            points = domain.tier_points(list(windows[cid].values()), since)
            tier = domain.assess_tier(member["tier"], points, self.settings.tiers, downgrade)
            if tier != member["tier"]:
                change = {
                    "from": member["tier"],
                    "to": tier,
                    "at": datetime.now(UTC),
                    "reason": "reassessment" if downgrade else "qualified",
                    "tier_points": points,
                    "actor": "system",
                }
                moves.append((cid, tier, change))
        await self.store.set_tiers(moves)
        return len(moves)

    async def set_tier(
        self, customer_id: str, tier: str, reason: str, identity: Identity
    ) -> dict[str, Any]:
        """A tier set by hand (it holds until the next reassessment or upgrade)."""
        member = await self.member(customer_id)
        if tier not in self.settings.tiers:
            raise Invalid.from_errors(
                [
                    {
                        "loc": ("tier",),
                        "msg": f"tiers are {', '.join(self.settings.tiers)}",
                        "type": "unknown_tier",
                    }
                ]
            )
        change = {
            "from": member["tier"],
            "to": tier,
            "at": datetime.now(UTC),
            "reason": reason,
            "actor": f"user:{identity.user}",
        }
        await self.store.set_tier(customer_id, tier, change)
        return await self.summary(customer_id)
