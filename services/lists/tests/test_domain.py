"""Who is in a plan's list, and why not: the rules as plain Python."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from lists import domain
from lists.domain import CustomerFacts, Plan, Team

TEAM = Team("north", "North", frozenset({"B1", "B2"}))
PLAN = Plan(
    id="north-2026",
    team_id="north",
    period="2026-Q4",
    segmentations=("cardio",),
    targeted_segments=frozenset({("cardio", "a"), ("cardio", "b")}),
)
LEVELS = {"cardio": "customer", "hospitals": "account"}


def customer(**fields: Any) -> CustomerFacts:
    base: dict[str, Any] = {
        "id": "c1",
        "primary_bricks": frozenset({"B1"}),
        "bricks": frozenset({"B1", "B9"}),
        "segments": {"cardio": {"segment": "a", "rule_version": 3, "profile": {"p": "high"}}},
    }
    return CustomerFacts(**{**base, **fields})


def codes(plan: Plan, facts: CustomerFacts | None) -> list[str]:
    return domain.decide(plan, TEAM, facts, LEVELS).codes


def test_in_the_bricks_and_a_targeted_segment_is_in_the_list() -> None:
    decision = domain.decide(PLAN, TEAM, customer(), LEVELS)
    assert decision.member and decision.reasons == ()
    assert domain.rule_versions(PLAN, customer()) == {"cardio": 3}


def test_only_the_primary_address_counts_when_the_plan_says_so() -> None:
    elsewhere = customer(primary_bricks=frozenset({"B9"}), bricks=frozenset({"B9", "B2"}))
    assert codes(PLAN, elsewhere) == [domain.NO_ADDRESS_IN_BRICKS]
    assert codes(replace(PLAN, primary_address_only=False), elsewhere) == []


def test_not_segmented_and_not_targeted_are_told_apart() -> None:
    assert codes(PLAN, customer(segments={})) == [domain.NOT_SEGMENTED]
    other = customer(segments={"cardio": {"segment": "c", "rule_version": 1}})
    decision = domain.decide(PLAN, TEAM, other, LEVELS)
    assert decision.codes == [domain.SEGMENT_NOT_TARGETED]
    assert decision.reasons[0].data["targeted_segments"] == ["a", "b"]


def test_every_reason_is_given_not_only_the_first() -> None:
    nowhere = customer(primary_bricks=frozenset(), segments={})
    assert codes(PLAN, nowhere) == [domain.NO_ADDRESS_IN_BRICKS, domain.NOT_SEGMENTED]


@pytest.mark.parametrize(
    ("facts", "plan", "expected"),
    [
        (customer(status="void"), PLAN, [domain.INACTIVE]),
        (customer(suppressions=frozenset({"do-not-call"})), PLAN, []),
        (
            customer(suppressions=frozenset({"do-not-call"})),
            replace(PLAN, excluded_suppressions=frozenset({"do-not-call"})),
            [domain.SUPPRESSED],
        ),
        (customer(), replace(PLAN, removals=frozenset({"c1"})), [domain.MANUALLY_REMOVED]),
        (customer(kind="account"), PLAN, [domain.ACCOUNT_SEGMENTS_NOT_TARGETED]),
        (None, PLAN, [domain.NOT_FOUND]),
    ],
)
def test_exclusions(facts: CustomerFacts | None, plan: Plan, expected: list[str]) -> None:
    assert codes(plan, facts) == expected


def test_a_manual_addition_is_in_despite_the_rules_but_not_if_inactive() -> None:
    plan = replace(PLAN, additions=frozenset({"c1"}))
    decision = domain.decide(plan, TEAM, customer(segments={}), LEVELS)
    assert decision.member
    assert decision.codes == [domain.MANUALLY_ADDED, domain.NOT_SEGMENTED]
    assert not domain.decide(plan, TEAM, customer(status="suspended"), LEVELS).member


def test_accounts_need_targeted_account_segments() -> None:
    account = customer(
        kind="account", segments={"hospitals": {"segment": "big", "rule_version": 1}}
    )
    plan = replace(
        PLAN,
        segmentations=("cardio", "hospitals"),
        targeted_segments=PLAN.targeted_segments | {("hospitals", "big")},
    )
    assert domain.decide(plan, TEAM, account, LEVELS).member
    with pytest.raises(domain.PlanRuleBroken, match="account segments"):
        domain.check_can_add(PLAN, account, LEVELS)
    domain.check_can_add(plan, account, LEVELS)


def test_a_submitted_plan_cannot_be_edited() -> None:
    with pytest.raises(domain.PlanRuleBroken) as broken:
        domain.check_can_add(replace(PLAN, status="submitted"), customer(), LEVELS)
    assert broken.value.code == "plan-submitted"
    with pytest.raises(domain.PlanRuleBroken) as inactive:
        domain.check_can_add(PLAN, customer(status="void"), LEVELS)
    assert inactive.value.code == "customer-inactive"


def test_a_submitted_plans_answer_is_its_list_at_submission() -> None:
    live_in = domain.Decision(True)
    live_out = domain.decide(PLAN, TEAM, customer(segments={}), LEVELS)
    frozen_in = {"member": True, "reasons": []}
    frozen_out = {"member": False, "reasons": [{"code": "not-segmented", "detail": "x"}]}
    assert domain.locked_decision(live_out, frozen_in).member  # left since, still listed
    assert domain.locked_decision(live_out, frozen_out) == live_out
    assert domain.locked_decision(live_out, None) == live_out
    joined = domain.locked_decision(live_in, None)  # would be in now: locked out
    assert not joined.member and joined.codes == ["not-in-submitted-list"]


def test_a_list_is_its_owners_and_a_shared_group_is_readable_by_all() -> None:
    north = {"created_by": "ana", "owners": {"teams": ["north"], "reps": ["ion"]}}
    assert domain.owns_list(north, "ana", "rep", frozenset())  # the creator
    assert domain.owns_list(north, "ion", "rep", frozenset({"south"}))  # a rep named
    assert domain.owns_list(north, "eva", "manager", frozenset({"north"}))  # the team's
    assert domain.owns_list(north, "root", "admin", frozenset())
    assert not domain.sees_list(north, "eva", "manager", frozenset({"south"}))
    shared = {**north, "kind": "group", "available_to_all": True}
    assert domain.sees_list(shared, "eva", "rep", frozenset({"south"}))
    assert not domain.owns_list(shared, "eva", "rep", frozenset({"south"}))
    flagged_static = {**north, "kind": "static", "available_to_all": True}
    assert not domain.sees_list(flagged_static, "eva", "rep", frozenset({"south"}))


def test_a_static_lists_usage_counts_customers_left_out_once_and_each_reason() -> None:
    rules = domain.StaticList(
        id="l1",
        excluded_suppressions=frozenset({"do-not-mail"}),
        required_traits=frozenset({"vip"}),
    )

    answers = [
        domain.eligibility(rules, customer(), frozenset({"vip"})),  # used
        domain.eligibility(rules, customer(suppressions=frozenset({"do-not-mail"})), frozenset()),
        domain.eligibility(rules, customer(status="suspended"), frozenset({"vip"})),
        domain.eligibility(rules, None, frozenset()),
    ]
    counts = domain.usage_counts(answers)
    assert (counts.customers, counts.included, counts.excluded) == (4, 1, 3)
    assert counts.excluded_by_reason == {
        "inactive": 1,
        "missing-traits": 1,
        "not-found": 1,
        "suppressed": 1,
    }
    assert domain.usage_counts([]) == domain.UsageCounts()
