"""What a member's views derive from (history, summary, timeline), each read once."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from loyalty import domain
from loyalty.points import PointsUseCases

TIMELINE_COMMUNICATIONS = 500


@dataclass(frozen=True)
class MemberHistory:
    """A member with their purchases and ledger (newest first), coupons, communications sent
    and last NPS answer."""

    member: dict[str, Any]
    purchases: list[dict[str, Any]]
    entries: list[dict[str, Any]]
    coupons: list[dict[str, Any]]
    communications: list[dict[str, Any]]
    last_nps: dict[str, Any] | None


class MemberViews(PointsUseCases):
    def _tier_points(self, entries: Sequence[Mapping[str, Any]]) -> int:
        since = datetime.now(UTC) - timedelta(days=self.settings.tier_window_days)
        return domain.tier_points(entries, since)

    async def history(self, customer_id: str) -> MemberHistory:
        """Everything the member's views derive from, each read once."""
        member = await self.member(customer_id)
        purchases, entries, coupons, sent, nps = await asyncio.gather(
            self.points.purchases_of(customer_id),
            self.points.entries_of(customer_id, None),
            self.coupons.coupons_of(customer_id),
            self.engagement.latest(customer_id, "communication", TIMELINE_COMMUNICATIONS),
            self.engagement.latest(customer_id, "nps", 1),
        )
        return MemberHistory(member, purchases, entries, coupons, sent, nps[0] if nps else None)

    def summary_of(self, history: MemberHistory) -> dict[str, Any]:
        """Status, tier and tier points, points by state, purchase metrics and last NPS."""
        member, nps = history.member, history.last_nps
        points = self._tier_points(history.entries)
        return {
            **member,
            "tier_points": points,
            "next_tier": domain.next_tier(member["tier"], points, self.settings.tiers),
            **self._points_summary(history.entries),
            "metrics": {
                **domain.metrics(history.purchases),
                "last_nps": {k: nps.get(k) for k in ("nps", "comment", "at")} if nps else None,
            },
        }

    async def summary(self, customer_id: str) -> dict[str, Any]:
        return self.summary_of(await self.history(customer_id))

    @staticmethod
    def timeline_of(
        history: MemberHistory, limit: int, before: datetime | None, before_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The member's loyalty history, newest first: enrollment, purchases (and returns),
        points other than those purchases earned, tier changes, coupons, communications. Each
        item has a stable ``id`` that breaks ties between items at the same time; a page goes on
        after the last item's (``before``, ``before_id``), or before ``before`` alone."""
        member = history.member
        items: list[dict[str, Any]] = [
            {
                "id": "enrollment",
                "kind": "enrollment",
                "at": member["enrolled_at"],
                "tier": member.get("tier"),
            }
        ]
        items += [
            {
                "id": f"purchase:{p['_id']}",
                "kind": "purchase",
                "at": p["purchased_at"],
                "order_id": p["_id"],
                "total": p["total"],
                "currency": p.get("currency"),
            }
            for p in history.purchases
        ]
        items += [
            {
                "id": f"points:{e['_id']}",
                "kind": f"points-{e['kind']}",
                "at": e["at"],
                "points": e["points"],
                "reason": e.get("reason"),
                "order_id": e.get("order_id"),
            }
            for e in history.entries
            if e["kind"] != "earn"
        ]
        items += [
            {
                "id": f"tier:{n:06d}",  # the tier history only grows: its place is stable
                "kind": "tier",
                "at": change["at"],
                "from": change["from"],
                "to": change["to"],
                "reason": change.get("reason"),
            }
            for n, change in enumerate(member.get("tier_history", []))
        ]
        for c in history.coupons:
            items.append(
                {
                    "id": f"coupon-issued:{c['_id']}",
                    "kind": "coupon-issued",
                    "at": c["issued_at"],
                    "coupon": c["_id"],
                    "name": c.get("name"),
                }
            )
            if c.get("redeemed_at"):
                items.append(
                    {
                        "id": f"coupon-redeemed:{c['_id']}",
                        "kind": "coupon-redeemed",
                        "at": c["redeemed_at"],
                        "coupon": c["_id"],
                        "order_id": c.get("order_id"),
                    }
                )
        items += [
            {
                "id": f"communication:{sent['_id']}",
                "kind": "communication",
                "at": sent["at"],
                "channel": sent.get("channel"),
                "campaign": sent.get("campaign"),
            }
            for sent in history.communications
        ]
        if before is not None:
            items = [
                i
                for i in items
                if i["at"] < before
                or (before_id is not None and i["at"] == before and i["id"] > before_id)
            ]
        items.sort(key=lambda i: i["id"])
        items.sort(key=lambda i: i["at"], reverse=True)  # stable: ties stay in id order
        return items[:limit]
