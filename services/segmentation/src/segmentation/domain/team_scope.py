"""Whose plan lists a profile edit can move, as plain Python.

A customer's profile values in a segmentation decide their segment there; the segment decides
their place in the list of every team plan that assigns the segmentation, where the customer has
an address (a primary one, if the plan counts only those) in the team's territory. Such an edit
belongs to those teams: a caller acts for every one of them, or is refused (as the add/edit flow
refuses an edit through another team's plan). An edit that moves no list is anyone's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PlanScope:
    """What the segmentation service knows of a team plan (from the lists service's events)."""

    team_id: str
    segmentations: frozenset[str]
    primary_address_only: bool = True


def customer_bricks(record: Mapping[str, Any], primary_only: bool) -> set[str]:
    return {
        a["brick"]
        for a in record.get("addresses") or ()
        if a.get("brick") and (a.get("primary") or not primary_only)
    }


def teams_moved_by(
    segmentation: str,
    record: Mapping[str, Any],
    plans: Iterable[PlanScope],
    territories: Mapping[str, frozenset[str]],
) -> set[str]:
    """The teams whose plan lists a change of the customer's segment in ``segmentation`` can
    move (``record``: the customer record; ``territories``: team -> bricks)."""
    return {
        plan.team_id
        for plan in plans
        if segmentation in plan.segmentations
        and customer_bricks(record, plan.primary_address_only)
        & territories.get(plan.team_id, frozenset())
    }
