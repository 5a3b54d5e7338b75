"""Tier upgrades after purchases: the window read goes together with the ledger insert, and the
entries being added count once whether the read saw them or not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def earning(customer_id: str, key: str, points: int, days_ago: int = 0) -> dict:
    return {
        "_id": f"earn:{key}",
        "customer_id": customer_id,
        "kind": "earn",
        "points": points,
        "order_id": key,
        "at": datetime.now(UTC) - timedelta(days=days_ago),
    }


async def tier(loyalty, customer_id: str) -> str:
    member = await loyalty.points.store.get_member(customer_id)
    assert member is not None
    return str(member["tier"])


async def test_new_points_on_top_of_the_window_move_a_member_up(loyalty) -> None:
    await loyalty.enroll("c1", "c2")
    await loyalty.points.points.add_entries(
        [earning("c1", "o1", 600), earning("c2", "o2", 600), earning("c2", "old", 900, 400)]
    )
    members = await loyalty.points.store.member_states(["c1", "c2"])
    adding = [earning("c1", "o3", 500), earning("c2", "o4", 300)]
    await loyalty.points.upgrade_while_adding(["c1", "c2"], members, adding)
    # c1: 600 + 500 in the window; c2: 600 + 300 (the 900 are older than the window)
    assert (await tier(loyalty, "c1"), await tier(loyalty, "c2")) == ("silver", "base")
    assert {e["_id"] for e in await loyalty.points.points.entries_of("c1", None)} == {
        "earn:o1",
        "earn:o3",
    }


async def test_a_replayed_entry_counts_once(loyalty) -> None:
    """A redelivered batch adds entries that are there already: the read finds them and the
    batch lays them over by id, so they are not counted twice."""
    await loyalty.enroll("c1")
    await loyalty.points.points.add_entries([earning("c1", "o1", 600)])
    members = await loyalty.points.store.member_states(["c1"])
    await loyalty.points.upgrade_while_adding(["c1"], members, [earning("c1", "o1", 600)])
    assert await tier(loyalty, "c1") == "base"  # 600, not 1,200


async def test_a_member_at_the_top_is_left_alone(loyalty) -> None:
    await loyalty.enroll("c1")
    await loyalty.points.store.set_tier("c1", "gold", {"from": "base", "to": "gold"})
    members = await loyalty.points.store.member_states(["c1"])
    await loyalty.points.upgrade_while_adding(["c1"], members, [earning("c1", "o1", 10)])
    assert await tier(loyalty, "c1") == "gold"
    assert len(await loyalty.points.points.entries_of("c1", None)) == 1
