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
    """A customer's RFM stars, purchase metrics or predicted value changed: the whole state
    after the change (a consumer replaces what it holds), for segment rules to use
    (``loyalty.rfm_recency``, ``loyalty.clv`` and the like). Each part carries the run that
    scored it (``rfm_version``, ``clv_version``): an event older in either is stale."""

    TYPE = "cdp.loyalty.CustomerMetricsChanged"

    customer_id: str
    rfm_recency: int | None = Field(default=None, ge=1, le=5)
    rfm_frequency: int | None = Field(default=None, ge=1, le=5)
    rfm_monetary: int | None = Field(default=None, ge=1, le=5)
    rfm_version: int = Field(
        default=0, ge=0, le=INT64_MAX, description="The RFM run (thresholds, lookback) scored by"
    )
    lifetime_spend: float = 0.0
    orders: int = 0
    last_purchase_at: datetime | None = None
    p_alive: float | None = Field(default=None, ge=0, le=1, description="BG/NBD")
    expected_purchases: float | None = Field(default=None, ge=0, description="Over the horizon")
    expected_spend_per_purchase: float | None = Field(default=None, ge=0, description="Gamma-Gamma")
    clv: float | None = Field(default=None, ge=0, description="Over the horizon, discounted")
    clv_version: int = Field(
        default=0, ge=0, le=INT64_MAX, description="The predicted-value run scored by"
    )
