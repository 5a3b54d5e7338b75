from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from contracts.customers import Customer
from loyalty import domain

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def customer(status: str = "active") -> Customer:
    return Customer(id="c-1", version=3, status=status, created_at=NOW, updated_at=NOW)


def test_referral_code_is_short_stable_and_per_customer() -> None:
    code = domain.referral_code("c-1")
    assert code == domain.referral_code("c-1") and len(code) == 8 and code.isalnum()
    assert code != domain.referral_code("c-2")


def test_only_active_customers_enroll() -> None:
    assert domain.may_enroll(customer("active"))
    assert not domain.may_enroll(customer("suspended"))
    assert not domain.may_enroll(customer("void"))


def test_new_member_starts_at_the_base_tier() -> None:
    member = domain.new_member(customer(), "base", NOW)
    assert (member["_id"], member["tier"], member["status"]) == ("c-1", "base", "active")
    assert member["customer_version"] == 3


LINES = [
    {"product": "Shoes", "category": "Footwear", "amount": "89.90"},
    {"product": "Socks", "category": "Apparel", "amount": "12.50"},
]


def test_points_are_per_currency_unit_with_category_multipliers_rounded_down() -> None:
    assert domain.points_for(LINES, Decimal(1), {}) == 102
    assert domain.points_for(LINES, Decimal(1), {"footwear": Decimal(2)}) == 192
    assert domain.points_for(LINES, Decimal("0.1"), {}) == 10


@pytest.mark.parametrize(
    ("points", "balance", "code"),
    [
        (0, 10, "zero-adjustment"),
        (domain.MAX_ADJUSTMENT + 1, 0, "absurd-adjustment"),
        (-11, 10, "insufficient-points"),
    ],
)
def test_adjustments_are_bounded(points: int, balance: int, code: str) -> None:
    with pytest.raises(domain.RuleBroken) as broken:
        domain.check_adjustment(points, balance)
    assert broken.value.code == code and broken.value.field == "points"


def test_an_adjustment_may_take_the_balance_to_zero() -> None:
    domain.check_adjustment(-10, 10)


def test_metrics_of_purchases() -> None:
    purchases = [
        {"total": "102.40", "lines": LINES, "purchased_at": NOW},
        {
            "total": "20.00",
            "purchased_at": datetime(2026, 1, 1, tzinfo=UTC),
            "lines": [{"category": "Apparel", "amount": "20.00"}],
        },
    ]
    metrics = domain.metrics(purchases)
    assert metrics["lifetime_spend"] == "122.40" and metrics["orders"] == 2
    assert metrics["average_order_value"] == "61.20" and metrics["last_purchase_at"] == NOW
    assert metrics["top_categories"] == [
        {"category": "Footwear", "amount": "89.90", "orders": 1},
        {"category": "Apparel", "amount": "32.50", "orders": 2},
    ]
    assert domain.metrics([])["average_order_value"] is None


def coupon(state: str = "issued", **fields: object) -> dict[str, object]:
    return {
        "_id": "WELCOME-1",
        "state": state,
        "usable_from": datetime(2026, 11, 1, tzinfo=UTC),
        "expires_at": datetime(2026, 12, 1, tzinfo=UTC),
        **fields,
    }


@pytest.mark.parametrize(
    ("state", "now", "tab"),
    [
        ("issued", NOW, domain.ACTIVE),
        ("reserved", NOW, domain.ACTIVE),
        ("redeemed", NOW, domain.APPLIED),
        ("redeemed", datetime(2027, 1, 1, tzinfo=UTC), domain.APPLIED),
        ("issued", datetime(2026, 12, 1, tzinfo=UTC), domain.LAPSED),
        ("cancelled", NOW, domain.LAPSED),
    ],
)
def test_coupon_tabs(state: str, now: datetime, tab: str) -> None:
    assert domain.coupon_tab(coupon(state), now) == tab


@pytest.mark.parametrize(
    ("fields", "now", "code"),
    [
        ({"state": "cancelled"}, NOW, "coupon-cancelled"),
        ({}, datetime(2026, 12, 2, tzinfo=UTC), "coupon-expired"),
        ({"usable_from": datetime(2026, 11, 30, tzinfo=UTC)}, NOW, "coupon-not-yet-usable"),
    ],
)
def test_coupons_that_cannot_be_redeemed(fields: dict, now: datetime, code: str) -> None:
    with pytest.raises(domain.RuleBroken) as broken:
        domain.check_redeemable(coupon(**fields), now)
    assert broken.value.code == code


def test_issuing_respects_status_window_and_per_customer_limit() -> None:
    promo = {
        "_id": "P",
        "status": "active",
        "valid_to": datetime(2026, 12, 1, tzinfo=UTC),
        "per_customer_limit": 1,
    }
    domain.check_issuable(promo, 0, NOW)
    for held, when, code in (
        (1, NOW, "per-customer-limit"),
        (0, datetime(2026, 12, 1, tzinfo=UTC), "coupon-expired"),
    ):
        with pytest.raises(domain.RuleBroken) as broken:
            domain.check_issuable(promo, held, when)
        assert broken.value.code == code
    with pytest.raises(domain.RuleBroken, match="retired"):
        domain.check_issuable({**promo, "status": "retired"}, 0, NOW)


def test_rfm_bins_each_dimension_into_quintiles_independently() -> None:
    facts = {f"c{i}": (float(i * 10), i, float(100 * i)) for i in range(1, 11)}
    scores, thresholds = domain.rfm_scores(facts)
    assert scores["c10"] == {"recency": 1, "frequency": 5, "monetary": 5}
    assert scores["c1"] == {"recency": 5, "frequency": 1, "monetary": 1}
    assert [s["monetary"] for s in scores.values()] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [s["recency"] for s in scores.values()] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert thresholds["monetary"] == [300.0, 500.0, 700.0, 900.0]


def test_rfm_of_a_single_customer_and_of_ties() -> None:
    scores, _ = domain.rfm_scores({"only": (3.0, 1, 10.0)})
    assert all(1 <= v <= 5 for v in scores["only"].values())
    tied, _ = domain.rfm_scores({f"c{i}": (5.0, 2, 50.0) for i in range(7)})
    assert len({tuple(s.values()) for s in tied.values()}) == 1


def entry(n: int, kind: str, points: int, day: int) -> dict[str, object]:
    return {
        "_id": f"e{n}",
        "kind": kind,
        "points": points,
        "at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day),
    }


def on(day: int) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day)


def test_earned_points_are_pending_then_active() -> None:
    policy = domain.PointsPolicy(pending_days=14, expiry_days=365)
    ledger = [entry(1, "earn", 100, 0), entry(2, "adjust", 20, 0)]
    assert domain.points_state(ledger, on(1), policy)["pending"] == 100
    assert domain.points_state(ledger, on(1), policy)["active"] == 20
    assert domain.points_state(ledger, on(14), policy)["active"] == 120


def test_redemption_spends_the_soonest_expiring_points_first() -> None:
    policy = domain.PointsPolicy(expiry_days=100)
    ledger = [entry(1, "earn", 50, 0), entry(2, "earn", 50, 30), entry(3, "redeem", -60, 40)]
    state = domain.points_state(ledger, on(50), policy)
    assert (state["active"], state["spent"]) == (40, 60)
    # the first lot is used up; the rest of the second expires on its own day
    assert state["next_expiry"] == {"at": on(130), "points": 40}
    assert domain.points_state(ledger, on(130), policy)["expired"] == 40


def test_fixed_and_rolling_expiry() -> None:
    ledger = [entry(1, "earn", 50, 0), entry(2, "earn", 10, 80)]
    fixed = domain.points_state(ledger, on(100), domain.PointsPolicy(expiry_days=90))
    assert (fixed["active"], fixed["expired"]) == (10, 50)
    rolling = domain.points_state(
        ledger, on(100), domain.PointsPolicy(expiry_days=90, rolling_expiry=True)
    )
    assert (rolling["active"], rolling["expired"]) == (60, 0)  # activity on day 80 kept them
    year_end = domain.PointsPolicy(expiry_date=(12, 31))
    assert domain.points_state(ledger, on(700), year_end)["active"] == 60  # until 2027-12-31
    assert domain.points_state(ledger, on(730), year_end)["expired"] == 60


def test_taking_back_spent_points_overdraws_until_new_points_pay_it_back() -> None:
    policy = domain.PointsPolicy()
    ledger = [entry(1, "earn", 100, 0), entry(2, "redeem", -100, 1), entry(3, "return", -100, 2)]
    assert domain.points_state(ledger, on(3), policy)["active"] == -100
    ledger.append(entry(4, "earn", 150, 4))
    assert domain.points_state(ledger, on(5), policy)["active"] == 50


def test_redemptions_are_positive_and_within_the_active_points() -> None:
    domain.check_redemption(10, 10)
    for points, code in ((0, "bad-redemption"), (11, "insufficient-points")):
        with pytest.raises(domain.RuleBroken) as broken:
            domain.check_redemption(points, 10)
        assert broken.value.code == code


TIERS = {"base": 0, "silver": 1000, "gold": 5000}


@pytest.mark.parametrize(
    ("current", "points", "downgrade", "expected"),
    [
        ("base", 1200, False, "silver"),
        ("base", 6000, False, "gold"),  # up at once, skipping levels
        ("gold", 100, False, "gold"),  # never down between reassessments
        ("gold", 100, True, "silver"),  # down one level at a time
        ("silver", 1500, True, "silver"),
        ("unknown", 0, True, "base"),
    ],
)
def test_tiers_go_up_at_once_and_down_one_level_at_reassessment(
    current: str, points: int, downgrade: bool, expected: str
) -> None:
    assert domain.assess_tier(current, points, TIERS, downgrade) == expected


def test_tier_points_count_purchases_in_the_window_only() -> None:
    ledger = [
        entry(1, "earn", 800, 0),
        entry(2, "earn", 500, 200),
        entry(3, "adjust", 9000, 200),
        entry(4, "return", -500, 201),
        entry(5, "redeem", -300, 202),
    ]
    assert domain.tier_points(ledger, on(100)) == 0
    assert domain.tier_points(ledger, on(-1)) == 800
    assert domain.next_tier("base", 800, TIERS) == {"tier": "silver", "points_needed": 200}
    assert domain.next_tier("gold", 0, TIERS) is None


def test_coupon_codes_follow_their_pattern() -> None:
    code = domain.coupon_code("WELCOME-####-XX", lambda seq: seq[0])
    assert code == "WELCOME-2222-AA"
    assert domain.random_positions("WELCOME-####-XX") == 6
