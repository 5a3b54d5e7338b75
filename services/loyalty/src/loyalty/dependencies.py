"""What every loyalty use case works with: the stores, the relay, the settings, the
enrollment path's slot; and the member lookup they share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from servicekit.consumer_slot import ConsumerSlot
from servicekit.outbox import OutboxRelay
from servicekit.problems import NotFound

from loyalty.referrals import ReferralService
from loyalty.settings import LoyaltySettings
from loyalty.store import (
    CouponStore,
    EngagementStore,
    LoyaltyStore,
    PointsStore,
)

SOURCE = "cdp/loyalty"


@dataclass
class LoyaltyDependencies:
    store: LoyaltyStore
    points: PointsStore
    coupons: CouponStore
    engagement: EngagementStore
    referrals: ReferralService
    relay: OutboxRelay
    settings: LoyaltySettings
    enrollment_slot: ConsumerSlot  # the customer-events path's slot in each member

    async def member(self, customer_id: str) -> dict[str, Any]:
        member = await self.store.get_member(customer_id)
        if member is None:
            raise NotFound(
                f"customer {customer_id} is not a loyalty member",
                code="member-not-found",
                customer_id=customer_id,
            )
        return member
