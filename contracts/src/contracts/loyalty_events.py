"""Events the loyalty service publishes on ``loyalty.events``, keyed by customer id."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from contracts.events import Event
from contracts.limits import INT64_MAX


class MemberEnrolled(Event):
    TYPE = "cdp.loyalty.MemberEnrolled"

    customer_id: str
    referral_code: str
    tier: str
    enrolled_at: datetime


class CustomerMetricsChanged(Event):
    """A customer's RFM stars (or purchase metrics) changed: the state after the change, for
    segment rules to use (``loyalty.rfm_recency`` and the like)."""

    TYPE = "cdp.loyalty.CustomerMetricsChanged"

    customer_id: str
    rfm_recency: int | None = Field(default=None, ge=1, le=5)
    rfm_frequency: int | None = Field(default=None, ge=1, le=5)
    rfm_monetary: int | None = Field(default=None, ge=1, le=5)
    rfm_version: int = Field(
        ge=1, le=INT64_MAX, description="The RFM run (thresholds, lookback) scored by"
    )
    lifetime_spend: float = 0.0
    orders: int = 0
    last_purchase_at: datetime | None = None
