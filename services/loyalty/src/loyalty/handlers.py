"""The loyalty service's use cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.customer_events import CustomerErased, CustomerRegistered
from contracts.loyalty_events import MemberEnrolled
from contracts.topics import LOYALTY_EVENTS
from servicekit import outbox
from servicekit.consuming import Delivery, Rejection
from servicekit.outbox import OutboxRelay
from servicekit.problems import NotFound

from loyalty import domain
from loyalty.settings import LoyaltySettings
from loyalty.store import LoyaltyStore

SOURCE = "cdp/loyalty"


@dataclass
class LoyaltyService:
    store: LoyaltyStore
    relay: OutboxRelay
    settings: LoyaltySettings

    async def member(self, customer_id: str) -> dict[str, Any]:
        member = await self.store.get_member(customer_id)
        if member is None:
            raise NotFound(
                f"customer {customer_id} is not a loyalty member", code="member-not-found"
            )
        return member

    async def on_customer_events(self, deliveries: Sequence[Delivery]) -> list[Rejection]:
        """Enroll registered customers (unless erased since) and forget erased ones."""
        erased = {d.event.customer_id for d in deliveries if isinstance(d.event, CustomerErased)}
        if self.settings.enroll_on_registration:
            candidates = {
                d.event.customer.id: d
                for d in deliveries
                if isinstance(d.event, CustomerRegistered) and domain.may_enroll(d.event.customer)
            }
            gone = erased | await self.store.erased(list(candidates))
            await self._enroll([d for cid, d in candidates.items() if cid not in gone])
        await self.store.erase(sorted(erased))
        return []

    async def _enroll(self, deliveries: Sequence[Delivery]) -> None:
        now = datetime.now(UTC)
        enrolments: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        for delivery in deliveries:
            event = delivery.event
            assert isinstance(event, CustomerRegistered)
            member = domain.new_member(event.customer, self.settings.base_tier, now)
            enrolled = MemberEnrolled(
                customer_id=member["_id"],
                referral_code=member["referral_code"],
                tier=member["tier"],
                enrolled_at=now,
            )
            envelope = enrolled.envelope(
                source=SOURCE,
                subject=member["_id"],
                correlation_id=delivery.envelope.correlation_id or delivery.envelope.id,
                causation_id=delivery.envelope.id,
            )
            entry = outbox.entry(self.settings.topic(LOYALTY_EVENTS.name), member["_id"], envelope)
            enrolments[member["_id"]] = (member, [entry])
        inserted = await self.store.enroll(list(enrolments.values()))
        await self.relay.deliver({cid: enrolments[cid][1] for cid in inserted})
