"""Quick issue under two concurrent writers, against the real database: a customer never holds
more coupons of a promotion than its per-customer limit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from servicekit.auth import Identity
from servicekit.problems import Problem

pytestmark = pytest.mark.servers
ROUNDS = 20
MANAGER = Identity(user="mia", role="manager", teams=frozenset({"north"}))


async def test_two_issues_at_once_respect_the_per_customer_limit(loyalty) -> None:
    now = datetime.now(UTC)
    await loyalty.coupons.define(
        {
            "code": "WELCOME",
            "name": "Welcome",
            "discount": {"percent": 10},
            "valid_from": now - timedelta(days=1),
            "valid_to": now + timedelta(days=30),
            "delay_days": 0,
            "total_limit": None,
            "per_customer_limit": 1,
        },
        MANAGER,
    )
    for n in range(ROUNDS):
        cid = f"c{n}"
        await loyalty.enroll(cid)
        results = await asyncio.gather(
            loyalty.coupons.issue(cid, "WELCOME", MANAGER),
            loyalty.coupons.issue(cid, "WELCOME", MANAGER),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, Problem)]
        assert len(refused) == 1 and refused[0].status == 422, results
        assert len((await loyalty.coupons.tabs(cid))["active"]) == 1
