"""Spending points under two concurrent writers, against the real database: whatever the
interleaving, the ledger never spends more than the member holds, and an order id is one
customer's redemption, not every customer's."""

from __future__ import annotations

import asyncio

import pytest
from servicekit.auth import Identity
from servicekit.problems import Problem

pytestmark = pytest.mark.servers
ROUNDS = 20
MANAGER = Identity(user="mia", role="manager", teams=frozenset({"north"}))


async def outcomes(*calls) -> list[object]:
    return list(await asyncio.gather(*calls, return_exceptions=True))


async def test_two_redemptions_never_spend_more_than_the_balance(loyalty) -> None:
    for n in range(ROUNDS):
        cid = f"c{n}"
        await loyalty.enroll(cid)
        await loyalty.grant(cid, 100, f"O-{n}")
        results = await outcomes(
            loyalty.points.redeem(cid, 60, f"A-{n}", MANAGER),
            loyalty.points.redeem(cid, 60, f"B-{n}", MANAGER),
        )
        refused = [r for r in results if isinstance(r, Problem)]
        assert len(refused) == 1 and refused[0].status == 409, results
        assert await loyalty.points.balance(cid) == 40


async def test_two_debits_by_adjustment_never_go_below_zero(loyalty) -> None:
    for n in range(ROUNDS):
        cid = f"c{n}"
        await loyalty.enroll(cid)
        await loyalty.grant(cid, 100, f"O-{n}")
        results = await outcomes(
            loyalty.points.adjust(cid, -70, "goodwill undone", MANAGER),
            loyalty.points.adjust(cid, -70, "goodwill undone", MANAGER),
        )
        assert sum(isinstance(r, Problem) for r in results) == 1, results
        assert await loyalty.points.balance(cid) == 30


async def test_a_redemption_and_an_adjustment_share_one_balance(loyalty) -> None:
    for n in range(ROUNDS):
        cid = f"c{n}"
        await loyalty.enroll(cid)
        await loyalty.grant(cid, 100, f"O-{n}")
        results = await outcomes(
            loyalty.points.redeem(cid, 80, f"A-{n}", MANAGER),
            loyalty.points.adjust(cid, -80, "correction", MANAGER),
        )
        assert sum(isinstance(r, Problem) for r in results) == 1, results
        assert await loyalty.points.balance(cid) == 20


async def test_the_same_order_redeemed_twice_at_once_spends_once(loyalty) -> None:
    for n in range(ROUNDS):
        cid = f"c{n}"
        await loyalty.enroll(cid)
        await loyalty.grant(cid, 100, f"O-{n}")
        first, second = await outcomes(
            loyalty.points.redeem(cid, 30, f"A-{n}", MANAGER),
            loyalty.points.redeem(cid, 30, f"A-{n}", MANAGER),
        )
        assert first == second and first["points"] == -30, (first, second)
        assert await loyalty.points.balance(cid) == 70


async def test_an_order_id_another_customer_used_is_this_customers_own_redemption(
    loyalty,
) -> None:
    for n in range(ROUNDS):
        ana, bo = f"ana{n}", f"bo{n}"
        await loyalty.enroll(ana, bo)
        await loyalty.grant(ana, 100, f"OA-{n}")
        await loyalty.grant(bo, 100, f"OB-{n}")
        for_ana, for_bo = await outcomes(
            loyalty.points.redeem(ana, 40, f"R-{n}", MANAGER),
            loyalty.points.redeem(bo, 40, f"R-{n}", MANAGER),
        )
        assert for_ana["customer_id"] == ana and for_bo["customer_id"] == bo
        assert await loyalty.points.balance(ana) == 60
        assert await loyalty.points.balance(bo) == 60
