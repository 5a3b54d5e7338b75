"""Referrals: a member invites someone (by email) or a new member names a referrer's code; the
referral moves from invited to registered (the referred person joined) to purchased (their first
purchase), and rewards the referrer, the referred person or both when it reaches the configured
step. Rewards are ledger entries with ids derived from the referral, so a replay pays nothing
twice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from servicekit.auth import Identity
from servicekit.problems import Conflict, Invalid, NotFound

from loyalty.settings import LoyaltySettings
from loyalty.store import LoyaltyStore, PointsStore, ReferralStore

STEPS = ("invited", "registered", "purchased")


@dataclass
class ReferralService:
    store: ReferralStore
    members: LoyaltyStore
    points: PointsStore
    settings: LoyaltySettings

    async def _member(self, customer_id: str) -> dict[str, Any]:
        member = await self.members.get_member(customer_id)
        if member is None:
            raise NotFound(
                f"customer {customer_id} is not a loyalty member",
                code="member-not-found",
                customer_id=customer_id,
            )
        return member

    async def invite(self, referrer_id: str, email: str) -> dict[str, Any]:
        await self._member(referrer_id)
        doc = {
            "_id": f"email:{email.lower()}",
            "referrer_id": referrer_id,
            "email": email.lower(),
            "referred_id": None,
            "status": "invited",
            "invited_at": datetime.now(UTC),
        }
        if not await self.store.insert(doc):
            raise Conflict(f"{email} was referred already", code="already-referred", field="email")
        return doc

    async def claim(self, referred_id: str, code: str, identity: Identity) -> dict[str, Any]:
        """A member names who referred them (once)."""
        referred = await self._member(referred_id)
        referrer = await self.store.member_by_code(code)
        if referrer is None:
            raise NotFound(f"no member has referral code {code}", code="referral-code-unknown")
        if referrer["_id"] == referred_id:
            raise Invalid.from_errors(
                [
                    {
                        "loc": ("code",),
                        "msg": "a member cannot refer themselves",
                        "type": "self_referral",
                    }
                ]
            )
        if await self.store.find({"referred_id": referred_id}):
            raise Conflict(f"customer {referred_id} was referred already", code="already-referred")
        now = datetime.now(UTC)
        doc = {
            "_id": f"member:{referred_id}",
            "referrer_id": referrer["_id"],
            "referred_id": referred_id,
            "referred_once": referred_id,  # the unique key: one referral per referred member
            "status": "registered",
            "invited_at": now,
            "registered_at": now,
            "claimed_by": f"user:{identity.user}",
        }
        if not await self.store.insert(doc):
            raise Conflict(f"customer {referred_id} was referred already", code="already-referred")
        await self._reward(doc, "registered")
        if referred and await self.points.purchases_of(referred_id, 1):
            await self.purchased([referred_id])
        return doc

    async def registered(self, customers: Sequence[tuple[str, str | None]]) -> None:
        """New members: an invitation to their email becomes a registration (the batch's
        invitations read in one query, by id)."""
        by_id = {f"email:{email.lower()}": cid for cid, email in customers if email}
        if not by_id:
            return
        for doc in await self.store.find({"_id": {"$in": list(by_id)}}):
            fields = {
                "status": "registered",
                "referred_id": by_id[doc["_id"]],
                "referred_once": by_id[doc["_id"]],  # refused if they claimed a referrer
                "registered_at": datetime.now(UTC),
            }
            if await self.store.advance(doc["_id"], "invited", fields):
                await self._reward({**doc, **fields}, "registered")

    async def purchased(self, customer_ids: Sequence[str]) -> None:
        """Referred members who bought: their referral reaches its last step."""
        if not customer_ids:
            return
        query = {"referred_id": {"$in": list(customer_ids)}, "status": "registered"}
        for doc in await self.store.find(query):
            fields = {"status": "purchased", "purchased_at": datetime.now(UTC)}
            if await self.store.advance(doc["_id"], "registered", fields):
                await self._reward({**doc, **fields}, "purchased")

    async def _reward(self, referral: dict[str, Any], step: str) -> None:
        if step != self.settings.referral_reward_on:
            return
        now = datetime.now(UTC)
        entries = []
        for role, who, points in (
            ("referrer", referral["referrer_id"], self.settings.referral_reward_referrer),
            ("referred", referral["referred_id"], self.settings.referral_reward_referred),
        ):
            if points > 0 and who:
                entries.append(
                    {
                        "_id": f"referral:{referral['_id']}:{who}",
                        "customer_id": who,
                        "kind": "referral",
                        "points": points,
                        "referral_id": referral["_id"],
                        "role": role,
                        "reason": f"referral reached {step}",
                        "at": now,
                    }
                )
        await self.points.add_entries(entries)

    async def summary(
        self, member: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """The member's code, the referrals they made and the points these earned them
        (``entries``: the member's ledger)."""
        made = await self.store.of_referrer(member["_id"])
        earned = sum(
            e["points"] for e in entries if e["kind"] == "referral" and e.get("role") == "referrer"
        )
        return {
            "referral_code": member["referral_code"],
            "referrals": [
                {
                    k: d.get(k)
                    for k in (
                        "email",
                        "referred_id",
                        "status",
                        "invited_at",
                        "registered_at",
                        "purchased_at",
                    )
                }
                for d in made
            ],
            "count": len(made),
            "points_earned": earned,
        }
