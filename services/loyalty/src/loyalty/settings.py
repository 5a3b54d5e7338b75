from decimal import Decimal
from typing import Literal

from pydantic import Field
from servicekit.settings import ServiceSettings


class LoyaltySettings(ServiceSettings):
    service_name: str = "loyalty"
    http_port: int = 8104
    enroll_on_registration: bool = True
    base_tier: str = "base"
    points_per_unit: Decimal = Field(
        default=Decimal(1), description="Points earned per unit of currency spent"
    )
    category_multipliers: dict[str, Decimal] = Field(
        default_factory=dict, description="Category -> multiplier of the points it earns"
    )
    rfm_lookback_days: int = Field(default=365, ge=1, description="RFM's purchase window")
    rfm_every_seconds: float = Field(
        default=86_400, description="How often RFM is recomputed (0: only on request)"
    )
    points_pending_days: int = Field(
        default=0, ge=0, description="Days earned points stay locked before they can be spent"
    )
    points_expiry_days: int = Field(default=365, ge=1, description="Days points stay valid")
    points_rolling_expiry: bool = Field(
        default=False, description="Expire after the last activity instead of each earning"
    )
    tiers: dict[str, int] = Field(
        default_factory=lambda: {"base": 0, "silver": 1000, "gold": 5000},
        description="Tier -> tier-status points needed (the lowest is where members start)",
    )
    tier_window_days: int = Field(default=365, ge=1, description="Tier points' window")
    tier_every_seconds: float = Field(
        default=86_400, description="How often tiers are reassessed (downgrades happen then)"
    )
    referral_reward_on: Literal["registered", "purchased"] = Field(
        default="purchased", description="The step of a referral that earns its rewards"
    )
    referral_reward_referrer: int = Field(default=100, ge=0, description="Points to the referrer")
    referral_reward_referred: int = Field(default=50, ge=0, description="Points to the referred")
    points_expiry_date: str | None = Field(
        default=None,
        pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        description="MM-DD: points expire on that date of the year after they were earned",
    )
    value_horizon_months: int = Field(
        default=12, ge=1, le=120, description="Predicted value: months ahead it looks"
    )
    value_monthly_discount: float = Field(
        default=0.01, ge=0, le=1, description="Predicted value: discount rate per month"
    )
    value_every_seconds: float = Field(
        default=86_400, description="How often predicted value is recomputed (0: on request)"
    )
    rfm_chunk: int = Field(
        default=1000, ge=1, description="Members per chunk of an RFM run or a tier reassessment"
    )
    # Bounds on a recorded purchase, on the API and on commerce.purchases alike: beyond them a
    # purchase is refused (422 or the dead-letter topic), since each unit of currency mints
    # points and tier status.
    purchase_max_lines: int = Field(default=200, ge=1, description="Lines in one purchase")
    purchase_max_quantity: int = Field(default=1_000, ge=1, description="Quantity of a line")
    purchase_max_line_amount: Decimal = Field(
        default=Decimal(50_000), gt=0, description="A line's amount, in the purchase's currency"
    )
    purchase_max_total: Decimal = Field(
        default=Decimal(100_000), gt=0, description="A purchase's total"
    )
    purchase_max_age_days: int = Field(
        default=730, ge=1, description="How long ago a recorded purchase may have happened"
    )
    purchase_max_ahead_seconds: int = Field(
        default=300, ge=0, description="How far in the future purchased_at may be (clock skew)"
    )
