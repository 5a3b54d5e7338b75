from __future__ import annotations

from datetime import UTC, datetime

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


def test_new_member_starts_at_the_base_tier_with_no_points() -> None:
    member = domain.new_member(customer(), "base", NOW)
    assert (member["_id"], member["tier"], member["points_balance"]) == ("c-1", "base", 0)
    assert member["customer_version"] == 3
