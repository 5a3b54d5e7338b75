"""Two transfers of one purchase at once, against the real database: the purchase and the
points it earned end with the same member (one transfer is refused, or they ran one after
the other). A transfer that stopped after taking the points (a crash) is finished by the next
call about that purchase, and finishing it again changes nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from servicekit.auth import Identity
from servicekit.problems import Problem

pytestmark = pytest.mark.servers
ROUNDS = 20
MANAGER = Identity(user="mia", role="manager", teams=frozenset({"north"}))


async def bought(loyalty, owner: str, order: str) -> None:
    """A purchase of ``owner`` that earned 100 points."""
    await loyalty.points.points.purchases.insert_one(
        {
            "_id": order,
            "customer_id": owner,
            "lines": [{"product": "p", "category": "c", "quantity": 1, "amount": "100"}],
            "total": "100",
            "currency": "EUR",
            "purchased_at": datetime.now(UTC),
        }
    )
    await loyalty.grant(owner, 100, order)


async def test_the_points_follow_the_purchase_whichever_transfer_wins(loyalty) -> None:
    for n in range(ROUNDS):
        owner, one, other, order = f"s{n}", f"t{n}", f"u{n}", f"O-{n}"
        await loyalty.enroll(owner, one, other)
        await bought(loyalty, owner, order)
        results = await asyncio.gather(
            loyalty.points.transfer(order, one, "wrong card", MANAGER),
            loyalty.points.transfer(order, other, "wrong card", MANAGER),
            return_exceptions=True,
        )
        purchase = await loyalty.points.purchase(order)
        holder = purchase["customer_id"]
        refused = [r for r in results if isinstance(r, Problem)]
        if refused:  # both read the purchase before either moved it
            assert len(refused) == 1 and refused[0].status == 409, results
            assert len(purchase["transfers"]) == 1
        else:  # one after the other: the second moved it on from the first one's target
            first, second = purchase["transfers"]
            assert first["to"] == second["from"] and second["to"] == holder
        assert holder in (one, other)
        balances = {cid: await loyalty.points.balance(cid) for cid in (owner, one, other)}
        assert balances == {owner: 0, one: 0, other: 0, holder: 100}, (holder, balances)


async def crashed_transfer(loyalty, order: str, owner: str, to: str) -> dict:
    """What a transfer that crashed right after taking the points left: its transfer-out."""
    out = {
        "_id": f"transfer-out:{order}:1",
        "customer_id": owner,
        "kind": "transfer-out",
        "points": -100,
        "to_customer_id": to,
        "order_id": order,
        "reason": "wrong card",
        "actor": "user:mia",
        "at": datetime.now(UTC),
    }
    ledger = loyalty.points.points
    assert await ledger.add_debit(out, await ledger.last_debit(owner) + 1)
    return out


async def test_a_transfer_that_stopped_after_taking_the_points_is_finished_by_a_retry(
    loyalty,
) -> None:
    await loyalty.enroll("s", "t", "u")
    await bought(loyalty, "s", "O-1")
    out = await crashed_transfer(loyalty, "O-1", "s", "t")
    retried = await loyalty.points.transfer("O-1", "t", "wrong card", MANAGER)
    assert retried["customer_id"] == "t" and len(retried["transfers"]) == 1
    assert [await loyalty.points.balance(c) for c in ("s", "t")] == [0, 100]
    assert await loyalty.points._finish_transfer(out, 1)  # a late repeat: done already
    assert len((await loyalty.points.purchase("O-1"))["transfers"]) == 1

    # ... and by a transfer elsewhere, which is then refused: the purchase moved meanwhile
    await bought(loyalty, "s", "O-2")
    await crashed_transfer(loyalty, "O-2", "s", "t")
    with pytest.raises(Problem) as refused:
        await loyalty.points.transfer("O-2", "u", "wrong card", MANAGER)
    assert refused.value.code == "purchase-moved"
    assert (await loyalty.points.purchase("O-2"))["customer_id"] == "t"
    assert [await loyalty.points.balance(c) for c in ("s", "t", "u")] == [0, 200, 0]


async def test_a_finished_transfer_repeated_late_moves_nothing_after_the_purchase_came_back(
    loyalty,
) -> None:
    await loyalty.enroll("s", "t")
    await bought(loyalty, "s", "O-1")
    await loyalty.points.transfer("O-1", "t", "wrong card", MANAGER)
    await loyalty.points.transfer("O-1", "s", "it was right", MANAGER)
    first = await loyalty.points.points.entry("transfer-out:O-1:1")
    assert await loyalty.points._finish_transfer(first, 1)  # it went to t, long ago
    purchase = await loyalty.points.purchase("O-1")
    assert purchase["customer_id"] == "s" and len(purchase["transfers"]) == 2
    assert [await loyalty.points.balance(c) for c in ("s", "t")] == [100, 0]
