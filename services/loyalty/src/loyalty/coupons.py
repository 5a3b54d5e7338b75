"""Coupons: promotions defined once (discount, validity window, delay before use, limits), issued
to customers (quick issue), reserved during a checkout, redeemed once, cancelled with a reason;
a customer's coupons fall in the Active, Applied and Lapsed tabs."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from servicekit.auth import Identity
from servicekit.problems import Conflict, NotFound, Problem

from loyalty import domain
from loyalty.store import CouponStore, LoyaltyStore

RESERVATION = timedelta(minutes=15)
ISSUE_ATTEMPTS = 5  # a clash of random codes is rare, and so is a concurrent issue


def _problem(exc: domain.RuleBroken) -> Problem:
    status = 422 if exc.code in ("per-customer-limit",) else 409
    extensions = {"field": exc.field} if exc.field else {}
    return Problem(str(exc), status=status, code=exc.code, title="Not allowed", **extensions)


def shown(coupon: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "id": coupon["_id"],
        **{k: v for k, v in coupon.items() if k not in ("_id", "place")},
        "tab": domain.coupon_tab(coupon, now),
    }


def coupon_tabs(coupons: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Coupons by tab: active, applied, lapsed (as of now)."""
    now = datetime.now(UTC)
    tabs: dict[str, list[dict[str, Any]]] = {
        domain.ACTIVE: [],
        domain.APPLIED: [],
        domain.LAPSED: [],
    }
    for coupon in coupons:
        item = shown(coupon, now)
        tabs[item["tab"]].append(item)
    return tabs


@dataclass
class CouponService:
    store: CouponStore
    members: LoyaltyStore

    async def define(self, fields: dict[str, Any], identity: Identity) -> dict[str, Any]:
        limit = fields.get("total_limit")
        doc = {
            **fields,
            "_id": fields.pop("code"),
            "status": "active",
            "redeemed": 0,
            "remaining": limit,
            "created_by": f"user:{identity.user}",
            "created_at": datetime.now(UTC),
        }
        if not await self.store.insert_definition(doc):
            raise Conflict(
                f"a coupon {doc['_id']} exists already", code="duplicate-coupon", field="code"
            )
        return doc

    async def definition(self, code: str) -> dict[str, Any]:
        found = await self.store.definition(code)
        if found is None:
            raise NotFound(f"no coupon {code}", code="coupon-not-found")
        return found

    async def issue(self, customer_id: str, code: str, identity: Identity) -> dict[str, Any]:
        """Quick issue: a coupon of an existing promotion to a member of the program."""
        member = await self.members.get_member(customer_id)
        if member is None:
            raise NotFound(
                f"customer {customer_id} is not a loyalty member",
                code="member-not-found",
                customer_id=customer_id,
            )
        if member["status"] != "active":
            raise Conflict(f"customer {customer_id} has left the program", code="member-inactive")
        definition = await self.definition(code)
        pattern = definition.get("code_pattern") or f"{code}-XXXXXXXX"
        for _ in range(ISSUE_ATTEMPTS):
            now = datetime.now(UTC)
            held = await self.store.count({"customer_id": customer_id, "definition": code})
            try:
                domain.check_issuable(definition, held, now)
            except domain.RuleBroken as exc:
                raise _problem(exc) from exc
            coupon = {
                "_id": domain.coupon_code(pattern, secrets.choice),
                "definition": code,
                "name": definition["name"],
                "discount": definition["discount"],
                "customer_id": customer_id,
                "state": "issued",
                "issued_at": now,
                "issued_by": f"user:{identity.user}",
                "usable_from": max(
                    now + timedelta(days=definition.get("delay_days", 0)),
                    definition["valid_from"],
                ),
                "expires_at": definition["valid_to"],
            }
            if definition.get("per_customer_limit") is not None:
                coupon["place"] = f"{code}:{customer_id}:{held + 1}"
            if await self.store.insert(coupon):
                return shown(coupon, now)
            # A clash: another issue took this place (count again), or a random code was
            # drawn twice (draw again).
            if "place" in coupon and await self.store.place_taken(coupon["place"]):
                continue
        raise Conflict(f"no free code left in the pattern of {code}", code="codes-exhausted")

    async def _coupon(self, customer_id: str, coupon_id: str) -> dict[str, Any]:
        found = await self.store.coupon(customer_id, coupon_id)
        if found is None:
            raise NotFound(
                f"customer {customer_id} has no coupon {coupon_id}", code="coupon-not-found"
            )
        return found

    async def tabs(self, customer_id: str) -> dict[str, list[dict[str, Any]]]:
        return coupon_tabs(await self.store.coupons_of(customer_id))

    async def reserve(self, customer_id: str, coupon_id: str, checkout: str) -> dict[str, Any]:
        """Hold the coupon for a checkout; another checkout cannot take it meanwhile."""
        coupon = await self._coupon(customer_id, coupon_id)
        now = datetime.now(UTC)
        try:
            domain.check_redeemable(coupon, now)
        except domain.RuleBroken as exc:
            raise _problem(exc) from exc
        if coupon["state"] == "reserved" and coupon.get("checkout") == checkout:
            return shown(coupon, now)
        held = coupon["state"] == "reserved" and coupon["reserved_until"] > now
        if coupon["state"] not in ("issued", "reserved") or held:
            raise Conflict(f"coupon {coupon_id} is {coupon['state']}", code="coupon-unavailable")
        done = await self.store.transition(
            coupon_id,
            ["issued", "reserved"],
            {"state": "reserved", "checkout": checkout, "reserved_until": now + RESERVATION},
        )
        if done is None:
            raise Conflict(f"coupon {coupon_id} changed meanwhile", code="coupon-unavailable")
        return shown(done, now)

    async def redeem(
        self, customer_id: str, coupon_id: str, order_id: str, checkout: str | None
    ) -> dict[str, Any]:
        """Apply the coupon to an order, once: the same order again is answered as before;
        another order is refused."""
        coupon = await self._coupon(customer_id, coupon_id)
        now = datetime.now(UTC)
        if coupon["state"] == "redeemed":
            if coupon.get("order_id") == order_id:
                return shown(coupon, now)
            raise Conflict(
                f"coupon {coupon_id} was redeemed already (order {coupon.get('order_id')})",
                code="coupon-redeemed",
            )
        try:
            domain.check_redeemable(coupon, now)
        except domain.RuleBroken as exc:
            raise _problem(exc) from exc
        reserved_by_other = (
            coupon["state"] == "reserved"
            and coupon["reserved_until"] > now
            and coupon.get("checkout") != checkout
        )
        if reserved_by_other:
            raise Conflict(
                f"coupon {coupon_id} is reserved by another checkout", code="coupon-unavailable"
            )
        definition = await self.definition(coupon["definition"])
        limited = definition.get("total_limit") is not None
        if not await self.store.take_redemption(coupon["definition"], limited):
            raise Conflict(
                f"coupon {coupon['definition']} has no redemptions left", code="total-limit-reached"
            )
        done = await self.store.transition(
            coupon_id,
            ["issued", "reserved"],
            {"state": "redeemed", "order_id": order_id, "redeemed_at": now},
        )
        if done is None:  # someone redeemed or cancelled it meanwhile
            await self.store.give_back_redemption(coupon["definition"], limited)
            return await self.redeem(customer_id, coupon_id, order_id, checkout)
        return shown(done, now)

    async def cancel(
        self, customer_id: str, coupon_id: str, reason: str, identity: Identity
    ) -> dict[str, Any]:
        coupon = await self._coupon(customer_id, coupon_id)
        now = datetime.now(UTC)
        if coupon["state"] == "cancelled":
            return shown(coupon, now)
        done = await self.store.transition(
            coupon_id,
            ["issued", "reserved"],
            {
                "state": "cancelled",
                "cancelled_at": now,
                "cancel_reason": reason,
                "cancelled_by": f"user:{identity.user}",
            },
        )
        if done is None:
            raise Conflict(f"coupon {coupon_id} is {coupon['state']}", code="coupon-redeemed")
        return shown(done, now)
