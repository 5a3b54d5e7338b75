"""Loyalty's lookups by something other than a member's id, over the real database: each is
served by an index (the scan guard fails the test otherwise) and finds what it should."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from loyalty.store import PointsStore, ReferralStore

pytestmark = pytest.mark.servers
T0 = datetime(2026, 11, 1, tzinfo=UTC)


async def test_the_ledger_entries_an_order_earned(mongo_db) -> None:
    points = PointsStore(mongo_db)
    await points.create_indexes()
    await points.add_entries(
        [
            {"_id": "earn:O-1", "customer_id": "c1", "order_id": "O-1", "points": 10, "at": T0},
            {"_id": "earn:O-2", "customer_id": "c1", "order_id": "O-2", "points": 5, "at": T0},
            {"_id": "adjust:1", "customer_id": "c1", "points": 3, "at": T0},
            {"_id": "move:O-1", "customer_id": "c2", "order_id": "O-1", "points": 10, "at": T0},
        ]
    )
    found = await points.entries_for_order("O-1")
    assert sorted(e["_id"] for e in found) == ["earn:O-1", "move:O-1"]
    assert await points.entries_for_order("O-none") == []


def referral(referrer: str, referred: str | None, status: str, days: int, key: str) -> dict:
    return {
        "_id": key,
        "referrer_id": referrer,
        "referred_id": referred,
        "status": status,
        "invited_at": T0 + timedelta(days=days),
    }


async def test_referrals_by_referrer_by_referred_member_and_an_erasure(mongo_db) -> None:
    referrals = ReferralStore(mongo_db)
    await referrals.create_indexes()
    for doc in (
        referral("ana", None, "invited", 1, "email:x@example.org"),
        referral("ana", "bo", "registered", 2, "member:bo"),
        referral("cy", "di", "purchased", 3, "member:di"),
    ):
        assert await referrals.insert(doc)
    assert [d["_id"] for d in await referrals.of_referrer("ana")] == [
        "member:bo",  # newest first
        "email:x@example.org",
    ]
    assert [d["_id"] for d in await referrals.find({"referred_id": "bo"})] == ["member:bo"]
    waiting = {"referred_id": {"$in": ["bo", "di"]}, "status": "registered"}
    assert [d["_id"] for d in await referrals.find(waiting)] == ["member:bo"]
    await referrals.forget(["ana", "di"])  # as referrer, as referred
    assert await referrals.find({"referred_id": "bo"}) == []
    assert await referrals.of_referrer("cy") == []
