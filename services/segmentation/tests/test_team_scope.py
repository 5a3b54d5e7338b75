"""Whose lists a profile edit can move (domain.team_scope)."""

from __future__ import annotations

from segmentation.domain.team_scope import PlanScope, teams_moved_by

NORTH = PlanScope("north", frozenset({"cardio"}))
SOUTH_ANY_ADDRESS = PlanScope("south", frozenset({"cardio"}), primary_address_only=False)
WEST_OTHER = PlanScope("west", frozenset({"onco"}))
TERRITORIES = {
    "north": frozenset({"BN1"}),
    "south": frozenset({"BS1"}),
    "west": frozenset({"BN1"}),
}


def record(*addresses: tuple[str, bool]) -> dict:
    return {"addresses": [{"brick": b, "primary": p} for b, p in addresses]}


def test_teams_whose_territory_holds_the_customer_and_assign_the_segmentation() -> None:
    plans = [NORTH, SOUTH_ANY_ADDRESS, WEST_OTHER]
    assert teams_moved_by("cardio", record(("BN1", True)), plans, TERRITORIES) == {"north"}
    both = record(("BN1", True), ("BS1", False))
    assert teams_moved_by("cardio", both, plans, TERRITORIES) == {"north", "south"}
    assert teams_moved_by("onco", both, plans, TERRITORIES) == {"west"}


def test_a_secondary_address_counts_only_where_the_plan_counts_any_address() -> None:
    secondary = record(("BN1", False), ("BS1", False))
    assert teams_moved_by("cardio", secondary, [NORTH, SOUTH_ANY_ADDRESS], TERRITORIES) == {"south"}


def test_outside_every_territory_no_list_moves() -> None:
    assert teams_moved_by("cardio", record(("BX9", True)), [NORTH], TERRITORIES) == set()
    assert teams_moved_by("cardio", {}, [NORTH], TERRITORIES) == set()
