"""The loyalty use cases over the real database, for the tests that race two writers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest_asyncio
from loyalty import domain
from loyalty.coupons import CouponService
from loyalty.handlers import LoyaltyService
from loyalty.referrals import ReferralService
from loyalty.settings import LoyaltySettings
from loyalty.store import CouponStore, EngagementStore, LoyaltyStore, PointsStore, ReferralStore


@dataclass
class Loyalty:
    points: LoyaltyService
    coupons: CouponService
    referrals: ReferralService

    async def enroll(self, *customer_ids: str) -> None:
        now = datetime.now(UTC)
        await self.points.store.members.insert_many(
            [
                {
                    "_id": cid,
                    "status": "active",
                    "tier": "base",
                    "referral_code": domain.referral_code(cid),
                    "enrolled_at": now,
                    "customer_version": 1,
                }
                for cid in customer_ids
            ]
        )

    async def grant(self, customer_id: str, points: int, key: str) -> None:
        """Points to spend: an earning already in the ledger."""
        await self.points.points.add_entries(
            [
                {
                    "_id": f"earn:{key}",
                    "customer_id": customer_id,
                    "kind": "earn",
                    "points": points,
                    "order_id": key,
                    "at": datetime.now(UTC),
                }
            ]
        )


@pytest_asyncio.fixture
async def loyalty(mongo_db) -> Loyalty:
    settings = LoyaltySettings(env="dev")
    members, points = LoyaltyStore(mongo_db), PointsStore(mongo_db)
    coupons, engagement = CouponStore(mongo_db), EngagementStore(mongo_db)
    referral_store = ReferralStore(mongo_db)
    for store in (members, points, coupons, engagement, referral_store):
        await store.create_indexes()
    referrals = ReferralService(referral_store, members, points, settings)
    service = LoyaltyService(
        members,
        points,
        coupons,
        engagement,
        referrals,
        None,
        settings,
        None,  # type: ignore[arg-type]
    )
    return Loyalty(service, CouponService(coupons, members), referrals)
