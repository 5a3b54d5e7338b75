"""What a predicted-value run may choose (the loyalty service runs it; the gateway types the
request): the purchase model, the horizon, the discount, or a past day for a backtest."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ValueRunOptions(BaseModel):
    """What a run may choose; anything left out is the service's setting."""

    model_config = ConfigDict(extra="forbid")

    model: Literal["bg-nbd", "mbg-nbd"] = Field(
        default="bg-nbd",
        description="bg-nbd: a member can only lapse after a repeat purchase (a one-time buyer's "
        "p_alive is 1); mbg-nbd: one-time buyers lapse too",
    )
    as_of: date | None = Field(
        default=None,
        description="A past date makes the run a backtest: fitted on the purchases up to that "
        "day, members untouched, its forecast since then beside the actual purchases",
    )
    horizon_months: int | None = Field(default=None, ge=1, le=60)
    monthly_discount: float | None = Field(default=None, ge=0, le=1)
