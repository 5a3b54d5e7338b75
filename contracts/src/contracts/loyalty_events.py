"""Events the loyalty service publishes on ``loyalty.events``, keyed by customer id."""

from __future__ import annotations

from datetime import datetime

from contracts.events import Event


class MemberEnrolled(Event):
    TYPE = "cdp.loyalty.MemberEnrolled"

    customer_id: str
    referral_code: str
    tier: str
    enrolled_at: datetime
