"""The loyalty service's HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from servicekit.auth import CurrentIdentity

from loyalty.handlers import LoyaltyService

router = APIRouter(prefix="/members", tags=["members"])


class Member(BaseModel):
    customer_id: str
    status: str
    tier: str
    points_balance: int
    referral_code: str
    enrolled_at: datetime


def service(request: Request) -> LoyaltyService:
    return request.app.state.loyalty


Loyalty = Annotated[LoyaltyService, Depends(service)]


@router.get("/{customer_id}", response_model=Member)
async def get_member(customer_id: str, loyalty: Loyalty, identity: CurrentIdentity) -> Member:
    doc = await loyalty.member(customer_id)
    return Member(
        customer_id=doc["_id"], **{k: doc[k] for k in Member.model_fields if k != "customer_id"}
    )
