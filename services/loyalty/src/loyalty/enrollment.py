"""Enrollment and leaving the program, from customer events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from contracts.customer_events import (
    CustomerChanged,
    CustomerErased,
    CustomerRegistered,
)
from contracts.loyalty_events import MemberEnrolled
from contracts.topics import LOYALTY_EVENTS
from servicekit import outbox
from servicekit.consumer_slot import SlotWrite, input_id
from servicekit.consuming import Delivery, Rejection

from loyalty import domain
from loyalty.dependencies import SOURCE, LoyaltyDependencies

ENROLLMENT = "customer_events"  # the customer-events path's slot: enrollments


class Enrollment(LoyaltyDependencies):
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
        await self._follow_status(deliveries, erased)
        await self.store.erase(sorted(erased))
        await self.points.forget(sorted(erased))
        await self.coupons.forget(sorted(erased))
        await self.engagement.forget(sorted(erased))
        await self.referrals.store.forget(sorted(erased))
        return []

    async def _follow_status(self, deliveries: Sequence[Delivery], erased: set[str]) -> None:
        """A suspended or void customer leaves the program; reactivated, they are back."""
        latest: dict[str, CustomerChanged] = {}
        for delivery in deliveries:
            event = delivery.event
            if isinstance(event, CustomerChanged) and not isinstance(event, CustomerRegistered):
                latest[event.customer.id] = event
        await self.store.set_statuses(
            [
                (
                    cid,
                    "active" if domain.may_enroll(event.customer) else "left",
                    event.customer.version,
                )
                for cid, event in latest.items()
                if cid not in erased
            ]
        )

    async def _enroll(self, deliveries: Sequence[Delivery]) -> None:
        """Enroll newly registered customers: the member and its MemberEnrolled event in one
        write (the event in the enrollment path's slot), published after it. A redelivered
        registration whose member's slot holds it publishes that event again."""
        now = datetime.now(UTC)
        slot = self.enrollment_slot
        enrolments: dict[str, tuple[dict[str, Any], SlotWrite]] = {}
        known = await self.store.members_with_slots([d.event.customer.id for d in deliveries])  # type: ignore[attr-defined]
        republish: list[dict[str, Any]] = []
        for delivery in deliveries:
            event = delivery.event
            assert isinstance(event, CustomerRegistered)
            if event.customer.id in known:
                state = slot.take(known.pop(event.customer.id))
                if state.holds([input_id(delivery)]):
                    republish += state.events  # enrolled before a crash: publish it again
                continue
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
            slot_write = SlotWrite()
            slot_write.applied([input_id(delivery)], [entry])
            enrolments[member["_id"]] = (member, slot_write)
        inserted = await self.store.enroll(list(enrolments.values()), slot)
        await slot.publish(
            republish + [e for cid in sorted(inserted) for e in enrolments[cid][1].events]
        )
        await self.referrals.registered(
            [
                (d.event.customer.id, d.event.customer.email)
                for d in deliveries
                if isinstance(d.event, CustomerRegistered)
            ]
        )
