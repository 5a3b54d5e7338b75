"""The loyalty service's HTTP API: members, their points and purchases, adjustments and
transfers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from contracts.commerce import PurchaseMade
from contracts.emails import Email
from contracts.limits import INT64_MAX
from contracts.value_runs import ValueRunOptions
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from servicekit.auth import CurrentCaller, CurrentIdentity, require_role
from servicekit.problems import NotFound

from loyalty.coupons import coupon_tabs
from loyalty.handlers import LoyaltyService

members = APIRouter(prefix="/members", tags=["members"])
purchases = APIRouter(prefix="/purchases", tags=["purchases"])
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


def service(request: Request) -> LoyaltyService:
    return request.app.state.loyalty


Loyalty = Annotated[LoyaltyService, Depends(service)]
Limit = Annotated[int, Query(ge=1, le=500)]


def shown(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return {key: doc["_id"], **{k: v for k, v in doc.items() if k not in ("_id", "outbox")}}


@members.get("/{customer_id}")
async def get_member(customer_id: str, loyalty: Loyalty, identity: CurrentIdentity) -> dict:
    """Status, tier, referral code, points balance (derived from the ledger) and purchase
    metrics: lifetime spend, orders, average order value, last purchase, top categories."""
    return shown(await loyalty.summary(customer_id), "customer_id")


@members.get("/{customer_id}/view")
async def view_part(
    customer_id: str, loyalty: Loyalty, identity: CurrentIdentity
) -> dict[str, Any]:
    """Member summary, latest purchases and coupons by tab in one answer (the Customer 360's
    part)."""
    history = await loyalty.history(customer_id)
    return {
        "member": shown(loyalty.summary_of(history), "customer_id"),
        "purchases": {"items": [shown(p, "order_id") for p in history.purchases[:10]]},
        "coupons": coupon_tabs(history.coupons),
        "referrals": await loyalty.referrals.summary(history.member, history.entries),
        "timeline": {"items": loyalty.timeline_of(history, 20, None)},
        "communications": {"items": [shown(c, "id") for c in history.communications[:20]]},
    }


@members.get("/{customer_id}/timeline")
async def timeline(
    customer_id: str,
    loyalty: Loyalty,
    identity: CurrentIdentity,
    limit: Limit = 50,
    before: Annotated[datetime | None, Query(description="Only entries before this time")] = None,
    before_id: Annotated[
        str | None,
        Query(
            max_length=200,
            description="With before: the last item's id; the page goes on after that item",
        ),
    ] = None,
) -> dict[str, Any]:
    """The member's loyalty history, newest first (ties by id); page on with
    ``before=<the last item's at>&before_id=<its id>``."""
    history = await loyalty.history(customer_id)
    return {"items": loyalty.timeline_of(history, limit, before, before_id)}


@members.get("/{customer_id}/communications")
async def communications(
    customer_id: str, loyalty: Loyalty, identity: CurrentIdentity, limit: Limit = 50
) -> dict[str, Any]:
    """Marketing communications sent to the customer, newest first."""
    sent = await loyalty.engagement.latest(customer_id, "communication", limit)
    return {"items": [shown(c, "id") for c in sent]}


@members.get("/{customer_id}/ledger")
async def ledger(
    customer_id: str, loyalty: Loyalty, identity: CurrentIdentity, limit: Limit = 100
) -> dict[str, Any]:
    await loyalty.member(customer_id)
    entries = await loyalty.points.entries_of(customer_id, limit)
    return {"items": [shown(e, "id") for e in entries]}


@members.get("/{customer_id}/purchases")
async def member_purchases(
    customer_id: str, loyalty: Loyalty, identity: CurrentIdentity, limit: Limit = 50
) -> dict[str, Any]:
    found = await loyalty.points.purchases_of(customer_id, limit)
    return {"items": [shown(p, "order_id") for p in found]}


class Adjustment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: int = Field(description="Points to add (negative: to take away)")
    reason: Reason


@members.post("/{customer_id}/adjustments", status_code=201)
async def adjust(
    customer_id: str, body: Adjustment, loyalty: Loyalty, identity: CurrentIdentity
) -> dict[str, Any]:
    """Adjust points by hand (manager or admin), with the reason and the actor recorded."""
    require_role(identity, "manager", "admin")
    entry = await loyalty.adjust(customer_id, body.points, body.reason, identity)
    return {**shown(entry, "id"), "points_balance": await loyalty.balance(customer_id)}


class TierChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    reason: Reason


@members.post("/{customer_id}/tier")
async def set_tier(
    customer_id: str, body: TierChange, loyalty: Loyalty, identity: CurrentIdentity
) -> dict[str, Any]:
    """Set the tier by hand (manager or admin), with the reason and the actor recorded."""
    require_role(identity, "manager", "admin")
    return shown(
        await loyalty.set_tier(customer_id, body.tier, body.reason, identity), "customer_id"
    )


class Invitation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email


class ReferredBy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=16)]


@members.get("/{customer_id}/referrals")
async def referrals(customer_id: str, loyalty: Loyalty, identity: CurrentIdentity) -> dict:
    """The member's referral code, the referrals made (with their status) and the points
    they earned."""
    history = await loyalty.history(customer_id)
    return await loyalty.referrals.summary(history.member, history.entries)


@members.post("/{customer_id}/referrals", status_code=201)
async def invite(
    customer_id: str, body: Invitation, loyalty: Loyalty, identity: CurrentIdentity
) -> dict[str, Any]:
    """The member invites someone by email; it counts when they join."""
    return shown(await loyalty.referrals.invite(customer_id, str(body.email)), "id")


@members.post("/{customer_id}/referred-by", status_code=201)
async def referred_by(
    customer_id: str, body: ReferredBy, loyalty: Loyalty, identity: CurrentIdentity
) -> dict[str, Any]:
    """The member names the referral code of who referred them (once)."""
    return shown(await loyalty.referrals.claim(customer_id, body.code, identity), "id")


class Redemption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: int = Field(description="Points to spend")
    order_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="The order they pay for; a repeat for the same order is a no-op"
    )


@members.post("/{customer_id}/redemptions", status_code=201)
async def redeem(
    customer_id: str, body: Redemption, loyalty: Loyalty, identity: CurrentIdentity
) -> dict[str, Any]:
    """Spend points, the soonest-expiring first."""
    entry = await loyalty.redeem(customer_id, body.points, body.order_id, identity)
    return {**shown(entry, "id"), "points_balance": await loyalty.balance(customer_id)}


class PurchaseInput(PurchaseMade):
    """A purchase as the API takes it: the event's fields, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@purchases.post("", status_code=201)
async def record_purchase(
    body: PurchaseInput, loyalty: Loyalty, identity: CurrentCaller, response: Response
) -> dict[str, Any]:
    """Record an order (as the commerce topic does; the commerce service identity, a manager or
    an admin): within the purchase bounds, for a member. A repeated order id is answered with
    the order recorded first (200), and earns nothing again."""
    require_role(identity, "manager", "admin", services=("commerce",))
    refused = (await loyalty.refusals([body]))[0]
    if refused is not None:
        raise refused.problem()
    before = await loyalty.points.purchases_by_id([body.order_id])
    stored = await loyalty.record([body], "api")
    if not stored:
        raise NotFound(f"customer {body.customer_id} was erased", code="customer-erased")
    if before:
        response.status_code = 200
    return shown(stored[0], "order_id")


@purchases.get("/{order_id}")
async def get_purchase(order_id: str, loyalty: Loyalty, identity: CurrentIdentity) -> dict:
    return shown(await loyalty.purchase(order_id), "order_id")


class Return(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


@purchases.post("/{order_id}/return")
async def return_purchase(
    order_id: str, body: Return, loyalty: Loyalty, identity: CurrentIdentity
) -> dict[str, Any]:
    """A full return: the points the purchase earned are taken back (idempotent)."""
    returned = await loyalty.take_back(order_id, body.reason, f"user:{identity.user}")
    return shown(returned, "order_id")


class Transfer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_customer_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    reason: Reason


@purchases.post("/{order_id}/transfer")
async def transfer(
    order_id: str, body: Transfer, loyalty: Loyalty, identity: CurrentIdentity
) -> dict[str, Any]:
    """Give the purchase to another customer; the points it earned move with it."""
    return shown(
        await loyalty.transfer(order_id, body.to_customer_id, body.reason, identity), "order_id"
    )


rfm = APIRouter(prefix="/rfm", tags=["rfm"])


@rfm.post("/runs", status_code=201)
async def run_rfm(request: Request, identity: CurrentIdentity) -> dict[str, Any]:
    """Score every member now (manager or admin); it also runs on a schedule."""
    require_role(identity, "manager", "admin")
    return shown(await request.app.state.rfm.run(), "version")


@rfm.get("/runs/latest")
async def latest_rfm(request: Request, identity: CurrentIdentity) -> dict[str, Any]:
    """The latest run: its version, thresholds and lookback."""
    return shown(await request.app.state.rfm.latest(), "version")


value = APIRouter(prefix="/value", tags=["predicted value"])


@value.post("/runs", status_code=202)
async def run_value(
    request: Request,
    response: Response,
    identity: CurrentIdentity,
    options: ValueRunOptions | None = None,
) -> dict[str, Any]:
    """Start fitting the models and predicting every member's value (manager or admin); poll the
    run at its ``Location``. It also runs on a schedule. The body is optional (see RunOptions):
    the model, the horizon, the discount, or a past ``as_of`` for a backtest."""
    require_role(identity, "manager", "admin")
    run = shown(await request.app.state.value.start(options), "version")
    response.headers["Location"] = f"/value/runs/{run['version']}"
    return run


@value.get("/runs/latest")
async def latest_value(request: Request, identity: CurrentIdentity) -> dict[str, Any]:
    """The latest run: its state, horizon, discount and fitted parameters."""
    return shown(await request.app.state.value.latest(), "version")


@value.get("/runs/{version}")
async def value_run(
    version: Annotated[int, Path(ge=1, le=INT64_MAX)], request: Request, identity: CurrentIdentity
) -> dict[str, Any]:
    """A run: ``running``, ``done`` (with the fitted parameters) or ``failed`` (with the error)."""
    return shown(await request.app.state.value.get(version), "version")


tiers = APIRouter(prefix="/tiers", tags=["tiers"])


@tiers.post("/reassessments", status_code=201)
async def reassess(request: Request, identity: CurrentIdentity) -> dict[str, Any]:
    """Reassess every member's tier now (manager or admin): downgrades happen here, one level
    at a time; it also runs on a schedule."""
    require_role(identity, "manager", "admin")
    return await request.app.state.tier_reassessments.run()
