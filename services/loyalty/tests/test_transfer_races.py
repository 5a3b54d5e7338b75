"""Two transfers of one purchase at once, against the real database: the purchase and the
points it earned end with the same member (one transfer is refused, or they ran one after
the other)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from servicekit.auth import Identity
from servicekit.problems import Problem

pytestmark = pytest.mark.servers
ROUNDS = 20
MANAGER = Identity(user="mia", role="manager", teams=frozenset({"north"}))


async def test_the_points_follow_the_purchase_whichever_transfer_wins(loyalty) -> None:
    for n in range(ROUNDS):
        owner, one, other, order = f"s{n}", f"t{n}", f"u{n}", f"O-{n}"
        await loyalty.enroll(owner, one, other)
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
