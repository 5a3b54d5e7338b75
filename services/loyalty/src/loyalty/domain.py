"""Loyalty rules as plain Python: who is enrolled (and with which referral code), the points a
purchase earns, which adjustments are allowed, and a customer's purchase metrics."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from contracts.customers import Customer

REFERRAL_CODE_LENGTH = 8


def referral_code(customer_id: str) -> str:
    """A customer's referral code: short, unambiguous letters and digits, stable per customer."""
    digest = hashlib.sha256(customer_id.encode()).digest()
    return base64.b32encode(digest).decode()[:REFERRAL_CODE_LENGTH]


def may_enroll(customer: Customer) -> bool:
    return customer.status == "active"


def new_member(customer: Customer, tier: str, now: datetime) -> dict[str, Any]:
    return {
        "_id": customer.id,
        "status": "active",
        "tier": tier,
        "referral_code": referral_code(customer.id),
        "enrolled_at": now,
        "customer_version": customer.version,
    }


# --- points and purchases ---------------------------------------------------------------------

MAX_ADJUSTMENT = 100_000  # points; beyond that an adjustment is a typo, not goodwill


class RuleBroken(ValueError):
    """A loyalty rule; ``code`` is stable, ``field`` names the input at fault."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


def points_for(
    lines: Sequence[Mapping[str, Any]],
    points_per_unit: Decimal,
    category_multipliers: Mapping[str, Decimal],
) -> int:
    """Points a purchase earns: per currency unit, times the line's category multiplier (1 if
    none), rounded down over the whole purchase."""
    total = sum(
        (
            Decimal(str(line["amount"]))
            * points_per_unit
            * category_multipliers.get(str(line["category"]).lower(), Decimal(1))
            for line in lines
        ),
        Decimal(0),
    )
    return int(total.to_integral_value(rounding=ROUND_FLOOR))


def check_adjustment(points: int, balance: int) -> None:
    if points == 0:
        raise RuleBroken("zero-adjustment", "an adjustment changes the balance", "points")
    if abs(points) > MAX_ADJUSTMENT:
        raise RuleBroken(
            "absurd-adjustment", f"adjustments are at most {MAX_ADJUSTMENT} points", "points"
        )
    if balance + points < 0:
        raise RuleBroken(
            "insufficient-points",
            f"the balance is {balance}; it cannot go below zero",
            "points",
        )


def metrics(purchases: Sequence[Mapping[str, Any]], top: int = 5) -> dict[str, Any]:
    """Lifetime spend, orders, average order value, last purchase and top categories (returned
    purchases do not count)."""
    purchases = [p for p in purchases if not p.get("returned_at")]
    spend = sum((Decimal(str(p["total"])) for p in purchases), Decimal(0))
    by_category: dict[str, Decimal] = {}
    orders_in: dict[str, int] = {}
    for purchase in purchases:
        seen = set()
        for line in purchase["lines"]:
            category = line["category"]
            by_category[category] = by_category.get(category, Decimal(0)) + Decimal(
                str(line["amount"])
            )
            if category not in seen:
                orders_in[category] = orders_in.get(category, 0) + 1
                seen.add(category)
    ranked = sorted(by_category.items(), key=lambda item: (-item[1], item[0]))[:top]
    count = len(purchases)
    return {
        "lifetime_spend": str(spend),
        "orders": count,
        "average_order_value": str((spend / count).quantize(Decimal("0.01"))) if count else None,
        "last_purchase_at": max((p["purchased_at"] for p in purchases), default=None),
        "top_categories": [
            {"category": c, "amount": str(a), "orders": orders_in[c]} for c, a in ranked
        ],
    }


# --- coupons ----------------------------------------------------------------------------------

ACTIVE, APPLIED, LAPSED = "active", "applied", "lapsed"


def coupon_tab(coupon: Mapping[str, Any], now: datetime) -> str:
    """Active (issued or reserved, still valid), Applied (redeemed) or Lapsed (expired or
    cancelled). Expiry needs no job: a coupon past its end is lapsed when read."""
    if coupon["state"] == "redeemed":
        return APPLIED
    if coupon["state"] == "cancelled" or now >= coupon["expires_at"]:
        return LAPSED
    return ACTIVE


def check_issuable(definition: Mapping[str, Any], issued_to_customer: int, now: datetime) -> None:
    if definition["status"] != "active":
        raise RuleBroken("coupon-retired", f"coupon {definition['_id']} is retired", "coupon")
    if now >= definition["valid_to"]:
        raise RuleBroken("coupon-expired", f"coupon {definition['_id']} has expired", "coupon")
    limit = definition.get("per_customer_limit")
    if limit is not None and issued_to_customer >= limit:
        raise RuleBroken(
            "per-customer-limit",
            f"the customer holds {issued_to_customer} of coupon {definition['_id']} already "
            f"(at most {limit})",
            "coupon",
        )


def check_redeemable(coupon: Mapping[str, Any], now: datetime) -> None:
    if coupon["state"] == "cancelled":
        raise RuleBroken("coupon-cancelled", f"coupon {coupon['_id']} was cancelled")
    if now >= coupon["expires_at"]:
        raise RuleBroken("coupon-expired", f"coupon {coupon['_id']} has expired")
    if now < coupon["usable_from"]:
        raise RuleBroken(
            "coupon-not-yet-usable",
            f"coupon {coupon['_id']} can be used from {coupon['usable_from'].isoformat()}",
        )


# --- RFM --------------------------------------------------------------------------------------


def quintile_thresholds(values: Sequence[float]) -> list[float]:
    """The four cut points (20th, 40th, 60th, 80th percentile) of the values."""
    ordered = sorted(values)
    if not ordered:
        return []
    return [ordered[min(len(ordered) - 1, (len(ordered) * q) // 5)] for q in range(1, 5)]


def stars(value: float, thresholds: Sequence[float]) -> int:
    """1 to 5 stars: the quintile the value falls in (higher values, more stars)."""
    return 1 + sum(1 for cut in thresholds if value >= cut)


def rfm_scores(
    facts: Mapping[str, tuple[float, int, float]],
) -> tuple[dict[str, dict[str, int]], dict[str, list[float]]]:
    """Customer -> (days since last purchase, orders, spend) in the lookback window, to
    independent quintile stars per dimension (5 = most recent, most frequent, highest spend),
    with the thresholds used."""
    # Fewer days since the last purchase is better: bin the negated days.
    recency = quintile_thresholds([-r for r, _, _ in facts.values()])
    frequency = quintile_thresholds([f for _, f, _ in facts.values()])
    monetary = quintile_thresholds([m for _, _, m in facts.values()])
    scores = {
        cid: {
            "recency": stars(-r, recency),
            "frequency": stars(f, frequency),
            "monetary": stars(m, monetary),
        }
        for cid, (r, f, m) in facts.items()
    }
    thresholds = {
        "recency_days": [-cut for cut in recency],
        "frequency": frequency,
        "monetary": monetary,
    }
    return scores, thresholds


# --- points over time: pending, active, spent, expired ------------------------------------------


@dataclass(frozen=True)
class PointsPolicy:
    pending_days: int = 0  # earned points are locked this long (returns window)
    expiry_days: int = 365
    rolling_expiry: bool = False  # expire N days after the last activity instead of each lot
    expiry_date: tuple[int, int] | None = None  # (month, day): expire then, the year after


@dataclass
class _Lot:
    id: str
    at: datetime
    available_at: datetime
    remaining: int


def points_state(
    entries: Sequence[Mapping[str, Any]], now: datetime, policy: PointsPolicy
) -> dict[str, Any]:
    """Replay the ledger: positive entries are lots (earned ones locked for the pending days);
    negative ones (redemptions, takings back, transfers out) spend the soonest-expiring
    available lots first. Returns pending, active (the spendable balance; below zero if more
    was taken back than was left), spent and expired points, and the next expiry."""
    ordered = sorted(entries, key=lambda e: (e["at"], e["_id"]))
    lots: list[_Lot] = []
    debt = spent = 0

    def expiry(lot: _Lot, at: datetime) -> datetime:
        if policy.expiry_date is not None:
            month, day = policy.expiry_date
            return lot.at.replace(
                year=lot.at.year + 1,
                month=month,
                day=day,
                hour=0,
                minute=0,
                second=0,
                microsecond=0,
            )
        if policy.rolling_expiry:
            last = max((e["at"] for e in ordered if e["at"] <= at), default=lot.at)
            return last + timedelta(days=policy.expiry_days)
        return lot.at + timedelta(days=policy.expiry_days)

    def usable(at: datetime) -> list[_Lot]:
        live = [
            lot
            for lot in lots
            if lot.remaining > 0 and lot.available_at <= at and at < expiry(lot, at)
        ]
        return sorted(live, key=lambda lot: (expiry(lot, at), lot.at, lot.id))

    for entry in ordered:
        points, at = int(entry["points"]), entry["at"]
        if points > 0:
            locked = entry["kind"] == "earn"
            lot = _Lot(
                entry["_id"], at, at + timedelta(days=policy.pending_days if locked else 0), points
            )
            paid = min(debt, points)  # new points pay back what was overdrawn first
            lot.remaining -= paid
            debt -= paid
            lots.append(lot)
            continue
        wanted = -points
        for lot in usable(at):
            taken = min(lot.remaining, wanted)
            lot.remaining -= taken
            wanted -= taken
            if entry["kind"] == "redeem":
                spent += taken
            if wanted == 0:
                break
        debt += wanted
    pending = sum(
        lot.remaining
        for lot in lots
        if lot.remaining > 0 and lot.available_at > now and now < expiry(lot, now)
    )
    live = usable(now)
    expired = sum(lot.remaining for lot in lots if lot.remaining > 0 and now >= expiry(lot, now))
    return {
        "active": sum(lot.remaining for lot in live) - debt,
        "pending": pending,
        "spent": spent,
        "expired": expired,
        "next_expiry": (
            {"at": expiry(live[0], now), "points": live[0].remaining} if live else None
        ),
    }


def check_redemption(points: int, active: int) -> None:
    if points <= 0:
        raise RuleBroken(
            "bad-redemption", "a redemption spends a positive number of points", "points"
        )
    if points > active:
        raise RuleBroken(
            "insufficient-points", f"{active} points can be spent now, not {points}", "points"
        )


# --- tiers ------------------------------------------------------------------------------------


def tier_points(entries: Sequence[Mapping[str, Any]], since: datetime) -> int:
    """Tier-status points: points earned by purchases in the window, less those of returned or
    transferred-away purchases; adjustments and redemptions of spendable points do not count."""
    counted = {"earn": 1, "transfer-in": 1, "transfer-out": 1, "return": 1}
    return max(
        0,
        sum(int(e["points"]) for e in entries if e["kind"] in counted and e["at"] >= since),
    )


def assess_tier(current: str, points: int, thresholds: Mapping[str, int], downgrade: bool) -> str:
    """The tier the points qualify for, moving up at once; down only at a reassessment
    (``downgrade``), and one level at a time."""
    ladder = sorted(thresholds, key=lambda name: thresholds[name])
    qualified = max(
        (t for t in ladder if points >= thresholds[t]), key=ladder.index, default=ladder[0]
    )
    here = ladder.index(current) if current in ladder else 0
    there = ladder.index(qualified)
    if there > here:
        return qualified
    if there < here and downgrade:
        return ladder[here - 1]
    return ladder[here]


def next_tier(current: str, points: int, thresholds: Mapping[str, int]) -> dict | None:
    ladder = sorted(thresholds, key=lambda name: thresholds[name])
    here = ladder.index(current) if current in ladder else 0
    if here + 1 >= len(ladder):
        return None
    above = ladder[here + 1]
    return {"tier": above, "points_needed": max(0, thresholds[above] - points)}


CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at a till


def coupon_code(pattern: str, choose: Any) -> str:
    """A coupon's code from its promotion's pattern: ``#`` a digit, ``X`` a letter or digit,
    anything else as it is (``choose`` picks from a sequence, e.g. ``secrets.choice``)."""
    return "".join(
        choose("23456789") if c == "#" else choose(CODE_ALPHABET) if c == "X" else c
        for c in pattern
    )


def random_positions(pattern: str) -> int:
    return sum(1 for c in pattern if c in "#X")
