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
    rfm_chunk: int = Field(
        default=1000, ge=1, description="Members per chunk of an RFM run or a tier reassessment"
    )
