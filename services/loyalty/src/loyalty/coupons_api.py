"""HTTP routes of coupons: definitions, and a member's coupons by tab."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from contracts.limits import INT64_MAX
from contracts.text import PlainText
from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError
from servicekit.auth import CurrentIdentity, require_role

from loyalty import domain
from loyalty.coupons import CouponService

definitions = APIRouter(prefix="/coupons", tags=["coupons"])
member_coupons = APIRouter(prefix="/members/{customer_id}/coupons", tags=["coupons"])
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
Ref = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]


def service(request: Request) -> CouponService:
    return request.app.state.coupons


Coupons = Annotated[CouponService, Depends(service)]


class Discount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["percent", "amount"]
    value: Annotated[Decimal, Field(gt=0, le=Decimal(100000), decimal_places=2)]

    @model_validator(mode="after")
    def _percent_at_most_100(self) -> Discount:
        if self.kind == "percent" and self.value > 100:
            raise PydanticCustomError(
                "percent_over_100", "a percent discount is at most 100", {"fields": ["value"]}
            )
        return self


class CouponDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_-]{1,31}$")] = Field(
        examples=["WELCOME10"]
    )
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), PlainText
    ]
    discount: Discount
    code_pattern: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9#X-]{6,32}$")] | None = Field(
        default=None,
        description="Issued coupons' codes: # a digit, X a letter or digit, the rest as is "
        "(at least 6 random positions); default <code>-XXXXXXXX",
        examples=["WELCOME-####-XXXX"],
    )
    valid_from: AwareDatetime
    valid_to: AwareDatetime
    delay_days: Annotated[int, Field(ge=0, le=365)] = Field(
        default=0, description="Days after issue before the coupon can be used"
    )
    total_limit: Annotated[int, Field(ge=1, le=INT64_MAX)] | None = Field(
        default=None, description="Redemptions allowed over all customers (none: no limit)"
    )
    per_customer_limit: Annotated[int, Field(ge=1, le=INT64_MAX)] | None = Field(
        default=1, description="Coupons of this promotion a customer may hold"
    )

    @model_validator(mode="after")
    def _window(self) -> CouponDefinition:
        if self.code_pattern and domain.random_positions(self.code_pattern) < 6:
            raise PydanticCustomError(
                "too_few_random",
                "a code pattern needs at least 6 random positions (# or X)",
                {"fields": ["code_pattern"]},
            )
        if self.valid_to <= self.valid_from:
            raise PydanticCustomError(
                "empty_window", "valid_to must be after valid_from", {"fields": ["valid_to"]}
            )
        return self


def shown(doc: dict[str, Any]) -> dict[str, Any]:
    return {"code": doc["_id"], **{k: v for k, v in doc.items() if k != "_id"}}


@definitions.post("", status_code=201)
async def define(body: CouponDefinition, coupons: Coupons, identity: CurrentIdentity) -> dict:
    """A promotion customers can be issued coupons of (manager or admin)."""
    require_role(identity, "manager", "admin")
    fields = body.model_dump()
    fields["discount"] = body.discount.model_dump(mode="json")
    return shown(await coupons.define(fields, identity))


@definitions.get("")
async def list_definitions(coupons: Coupons, identity: CurrentIdentity) -> list[dict[str, Any]]:
    return [shown(d) for d in await coupons.store.all_definitions()]


@definitions.get("/{code}")
async def get_definition(code: str, coupons: Coupons, identity: CurrentIdentity) -> dict:
    return shown(await coupons.definition(code))


class Issue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coupon: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        description="The promotion's code"
    )


class Reserve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checkout: Ref


class Redeem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: Ref
    checkout: Ref | None = Field(default=None, description="The checkout that reserved it")


class Cancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


@member_coupons.get("")
async def tabs(customer_id: str, coupons: Coupons, identity: CurrentIdentity) -> dict:
    """The customer's coupons: active (issued or reserved, still valid), applied (redeemed),
    lapsed (expired or cancelled)."""
    return await coupons.tabs(customer_id)


@member_coupons.post("", status_code=201)
async def issue(
    customer_id: str, body: Issue, coupons: Coupons, identity: CurrentIdentity
) -> dict[str, Any]:
    """Quick issue: a coupon of an existing promotion."""
    return await coupons.issue(customer_id, body.coupon, identity)


@member_coupons.post("/{coupon_id}/reserve")
async def reserve(
    customer_id: str, coupon_id: str, body: Reserve, coupons: Coupons, identity: CurrentIdentity
) -> dict[str, Any]:
    return await coupons.reserve(customer_id, coupon_id, body.checkout)


@member_coupons.post("/{coupon_id}/redeem")
async def redeem(
    customer_id: str, coupon_id: str, body: Redeem, coupons: Coupons, identity: CurrentIdentity
) -> dict[str, Any]:
    """Apply the coupon to an order, once (the same order again is answered as before)."""
    return await coupons.redeem(customer_id, coupon_id, body.order_id, body.checkout)


@member_coupons.post("/{coupon_id}/cancel")
async def cancel(
    customer_id: str, coupon_id: str, body: Cancel, coupons: Coupons, identity: CurrentIdentity
) -> dict[str, Any]:
    return await coupons.cancel(customer_id, coupon_id, body.reason, identity)
