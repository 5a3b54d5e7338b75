"""A member is referred once, whatever races: a claim by code at the same time as the
registration of an invitation to their email leaves one referral, rewarded once."""

from __future__ import annotations

import asyncio

import pytest
from servicekit.auth import Identity

pytestmark = pytest.mark.servers
ROUNDS = 20
REP = Identity(user="ria", role="rep", teams=frozenset({"north"}))


async def test_a_claim_racing_an_invitation_leaves_one_referral(loyalty) -> None:
    referrals = loyalty.referrals
    for n in range(ROUNDS):
        inviter, claimed, newcomer = f"a{n}", f"b{n}", f"n{n}"
        await loyalty.enroll(inviter, claimed, newcomer)
        await referrals.invite(inviter, f"{newcomer}@example.org")
        code = (await referrals.members.get_member(claimed))["referral_code"]
        await asyncio.gather(
            referrals.claim(newcomer, code, REP),
            referrals.registered([(newcomer, f"{newcomer}@example.org")]),
            return_exceptions=True,
        )
        assert len(await referrals.store.find({"referred_id": newcomer})) == 1


async def test_two_claims_at_once_name_one_referrer(loyalty) -> None:
    referrals = loyalty.referrals
    for n in range(ROUNDS):
        one, other, newcomer = f"a{n}", f"b{n}", f"n{n}"
        await loyalty.enroll(one, other, newcomer)
        codes = [(await referrals.members.get_member(c))["referral_code"] for c in (one, other)]
        await asyncio.gather(
            *(referrals.claim(newcomer, code, REP) for code in codes), return_exceptions=True
        )
        assert len(await referrals.store.find({"referred_id": newcomer})) == 1
