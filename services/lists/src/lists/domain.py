"""Team plans and their customer lists, as plain Python: who is in a list, and why not.

A plan's list holds the customers that have a primary (or, without the primary-address option,
any) address in one of the team's bricks and fall in a targeted segment, plus those added by
hand, minus those removed by hand. Inactive customers and customers with a suppression the plan
excludes are never in it. :func:`decide` gives the decision with every reason that keeps a
customer out, each with a stable code and the data behind it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts.lists_events import Reason

# Stable reason codes (API and events).
NOT_FOUND = "not-found"
INACTIVE = "inactive"
SUPPRESSED = "suppressed"
MANUALLY_REMOVED = "manually-removed"
MANUALLY_ADDED = "manually-added"
ACCOUNT_SEGMENTS_NOT_TARGETED = "account-segments-not-targeted"
NO_ADDRESS_IN_BRICKS = "no-address-in-bricks"
NOT_SEGMENTED = "not-segmented"
SEGMENT_NOT_TARGETED = "segment-not-targeted"

KIND_OF_LEVEL = {"customer": "person", "account": "account"}


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    bricks: frozenset[str]
    reps: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Plan:
    id: str
    team_id: str
    period: str
    segmentations: tuple[str, ...]
    targeted_segments: frozenset[tuple[str, str]]  # (segmentation, segment)
    primary_address_only: bool = True
    excluded_suppressions: frozenset[str] = frozenset()
    status: str = "draft"
    additions: frozenset[str] = frozenset()
    removals: frozenset[str] = frozenset()

    @property
    def submitted(self) -> bool:
        return self.status == "submitted"

    def targeted_in(self, segmentation: str) -> list[str]:
        return sorted(s for code, s in self.targeted_segments if code == segmentation)

    def targets_accounts(self, levels: Mapping[str, str]) -> bool:
        return any(levels.get(code) == "account" for code, _ in self.targeted_segments)


@dataclass(frozen=True)
class CustomerFacts:
    """What the lists service knows of a customer (from customer and segmentation events)."""

    id: str
    kind: str = "person"
    status: str = "active"
    primary_bricks: frozenset[str] = frozenset()
    bricks: frozenset[str] = frozenset()
    suppressions: frozenset[str] = frozenset()
    segments: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def bricks_for(self, plan: Plan) -> frozenset[str]:
        return self.primary_bricks if plan.primary_address_only else self.bricks

    def segment_in(self, segmentation: str) -> str | None:
        return self.segments.get(segmentation, {}).get("segment")


@dataclass(frozen=True)
class Decision:
    member: bool
    reasons: tuple[Reason, ...] = ()

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]


def rule_versions(plan: Plan, customer: CustomerFacts) -> dict[str, int]:
    return {
        code: int(customer.segments[code].get("rule_version", 0))
        for code in plan.segmentations
        if code in customer.segments
    }


def _segment_reasons(
    plan: Plan, customer: CustomerFacts, levels: Mapping[str, str]
) -> list[Reason]:
    """Reasons the customer is in no targeted segment (none if it is in one)."""
    relevant = sorted(
        {code for code, _ in plan.targeted_segments}
        & {
            code
            for code, level in _levels(plan, levels).items()
            if KIND_OF_LEVEL[level] == customer.kind
        }
    )
    if any(customer.segment_in(code) in plan.targeted_in(code) for code in relevant):
        return []
    reasons = []
    for code in relevant:
        held = customer.segments.get(code, {})
        data = {
            "segmentation": code,
            "segment": held.get("segment"),
            "profile": dict(held.get("profile", {})),
            "targeted_segments": plan.targeted_in(code),
        }
        if held.get("segment") is None:
            reasons.append(
                Reason(
                    code=NOT_SEGMENTED,
                    detail=f"not profiled or segmented in {code}, a targeted segmentation",
                    data=data,
                )
            )
        else:
            reasons.append(
                Reason(
                    code=SEGMENT_NOT_TARGETED,
                    detail=f"in segment {held['segment']} of {code}, which the plan does not "
                    "target",
                    data=data,
                )
            )
    return reasons


def _levels(plan: Plan, levels: Mapping[str, str]) -> dict[str, str]:
    # A segmentation not heard of yet counts as customer-level.
    return {code: levels.get(code, "customer") for code, _ in plan.targeted_segments}


def decide(
    plan: Plan,
    team: Team,
    customer: CustomerFacts | None,
    levels: Mapping[str, str],
) -> Decision:
    """Whether the customer is in the plan's list, and every reason if not."""
    if customer is None:
        return Decision(False, (Reason(code=NOT_FOUND, detail="no such customer"),))
    if customer.status != "active":
        return Decision(
            False,
            (
                Reason(
                    code=INACTIVE,
                    detail=f"the customer is {customer.status}",
                    data={"status": customer.status},
                ),
            ),
        )
    excluded = sorted(customer.suppressions & plan.excluded_suppressions)
    if excluded:
        return Decision(
            False,
            (
                Reason(
                    code=SUPPRESSED,
                    detail=f"suppressed: {', '.join(excluded)}",
                    data={"suppressions": excluded},
                ),
            ),
        )
    if customer.id in plan.removals:
        return Decision(
            False, (Reason(code=MANUALLY_REMOVED, detail="removed from the list by hand"),)
        )
    reasons: list[Reason] = []
    if customer.kind == "account" and not plan.targets_accounts(levels):
        reasons.append(
            Reason(
                code=ACCOUNT_SEGMENTS_NOT_TARGETED,
                detail="an account, and the plan targets no account segments",
            )
        )
    bricks = customer.bricks_for(plan)
    if not bricks & team.bricks:
        which = "primary address" if plan.primary_address_only else "address"
        reasons.append(
            Reason(
                code=NO_ADDRESS_IN_BRICKS,
                detail=f"no {which} in the team's bricks",
                data={
                    "customer_bricks": sorted(bricks),
                    "team_bricks": sorted(team.bricks),
                    "primary_address_only": plan.primary_address_only,
                },
            )
        )
    if not any(r.code == ACCOUNT_SEGMENTS_NOT_TARGETED for r in reasons):
        reasons += _segment_reasons(plan, customer, levels)
    if customer.id in plan.additions:
        added = Reason(code=MANUALLY_ADDED, detail="added to the list by hand")
        return Decision(True, (added, *reasons))
    return Decision(not reasons, tuple(reasons))


NOT_IN_SUBMITTED_LIST = "not-in-submitted-list"


def locked_decision(live: Decision, frozen: Mapping[str, Any] | None) -> Decision:
    """A submitted plan's answer: its list is as it was at submission (``frozen``, the stored
    membership, if the customer was ever in the list). A customer out of it is out for the
    live reasons, or, if the live rules would now take them in, because the list is locked."""
    if frozen is not None and frozen.get("member"):
        return Decision(True, tuple(Reason.model_validate(r) for r in frozen.get("reasons", ())))
    if not live.member:
        return live
    return Decision(
        False,
        (
            Reason(
                code=NOT_IN_SUBMITTED_LIST,
                detail="not in the list when the plan was submitted; it changes only after the "
                "plan is reopened",
            ),
        ),
    )


class PlanRuleBroken(Exception):
    """A rule of the add/edit flow; ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_editable(plan: Plan) -> None:
    if plan.submitted:
        raise PlanRuleBroken(
            "plan-submitted", f"plan {plan.id} is submitted: its list can no longer be edited"
        )


def check_can_add(plan: Plan, customer: CustomerFacts, levels: Mapping[str, str]) -> None:
    """The add/edit flow's rules: a draft plan, an active customer, accounts only if the plan
    targets account segments."""
    check_editable(plan)
    if customer.status != "active":
        raise PlanRuleBroken("customer-inactive", f"customer {customer.id} is {customer.status}")
    if customer.kind == "account" and not plan.targets_accounts(levels):
        raise PlanRuleBroken(
            ACCOUNT_SEGMENTS_NOT_TARGETED,
            "accounts can be added only to plans that target account segments",
        )


# --- static lists and groups (seeds 002, 003) -------------------------------------------------

MISSING_TRAITS = "missing-traits"


def owns_list(doc: Mapping[str, Any], user: str, role: str, teams: frozenset[str]) -> bool:
    """Who may change a static list or group (and see it): its creator, the reps and the
    members of the teams its owners name, and admins."""
    if role == "admin":
        return True
    owners = doc.get("owners") or {}
    return (
        doc.get("created_by") == user
        or user in owners.get("reps", ())
        or bool(teams & set(owners.get("teams", ())))
    )


def sees_list(doc: Mapping[str, Any], user: str, role: str, teams: frozenset[str]) -> bool:
    """Who may read a list: its owners, and everyone for a group available to all back-office
    users (seed 002)."""
    shared = doc.get("kind") == "group" and bool(doc.get("available_to_all"))
    return shared or owns_list(doc, user, role, teams)


@dataclass(frozen=True)
class StaticList:
    """A list of customers picked by hand, by a search, or by import; its rules exclude
    customers with certain suppressions and require certain traits, at the time of use."""

    id: str
    excluded_suppressions: frozenset[str] = frozenset()
    required_traits: frozenset[str] = frozenset()


def eligibility(
    static_list: StaticList, customer: CustomerFacts | None, traits: frozenset[str]
) -> list[Reason]:
    """Why a customer on the list is left out when the list is used (empty: included)."""
    if customer is None:
        return [Reason(code=NOT_FOUND, detail="no such customer")]
    reasons = []
    if customer.status != "active":
        reasons.append(
            Reason(
                code=INACTIVE,
                detail=f"the customer is {customer.status}",
                data={"status": customer.status},
            )
        )
    excluded = sorted(customer.suppressions & static_list.excluded_suppressions)
    if excluded:
        reasons.append(
            Reason(
                code=SUPPRESSED,
                detail=f"suppressed: {', '.join(excluded)}",
                data={"suppressions": excluded},
            )
        )
    missing = sorted(static_list.required_traits - traits)
    if missing:
        reasons.append(
            Reason(
                code=MISSING_TRAITS,
                detail=f"lacks required traits: {', '.join(missing)}",
                data={"missing": missing},
            )
        )
    return reasons


@dataclass(frozen=True)
class UsageCounts:
    """How a static list would be used now: its customers, those used, those left out, and
    how many are left out for each reason (a customer may have several)."""

    customers: int = 0
    included: int = 0
    excluded: int = 0
    excluded_by_reason: Mapping[str, int] = field(default_factory=dict)


def usage_counts(reasons_per_customer: Iterable[Sequence[Reason]]) -> UsageCounts:
    """Tally eligibility's answers (one per customer on the list)."""
    customers = excluded = 0
    by_reason: Counter[str] = Counter()
    for reasons in reasons_per_customer:
        customers += 1
        if reasons:
            excluded += 1
            by_reason.update({r.code for r in reasons})
    return UsageCounts(customers, customers - excluded, excluded, dict(sorted(by_reason.items())))
