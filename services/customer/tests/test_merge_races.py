"""An MDM merge racing an edit of either customer, against the real database: the merge always
finishes (the loser retired into the survivor, the survivor holding what the loser held), and
the edit is kept or refused, never half applied."""

from __future__ import annotations

import asyncio
import random
import uuid

import pytest
from contracts.customers import Suppression
from customer.domain import customer_id_for_mdm_code
from servicekit.auth import Identity
from servicekit.problems import Conflict

pytestmark = pytest.mark.servers
ROUNDS = 20
MANAGER = Identity(user="mia", role="manager")
MERGED = "cdp.customer.CustomersMerged"


async def two_customers(customers, mdm) -> tuple[str, str]:
    """A survivor and a loser (with a do-not-mail suppression), both from the master."""
    survivor, loser = (f"HCP-{uuid.uuid4().hex[:8]}" for _ in range(2))
    await customers.ingest_mdm(
        [
            mdm.upsert(survivor, 1, 0, first_name="Ana", last_name="Pop"),
            mdm.upsert(loser, 1, 1, first_name="Ana", last_name="Popp"),
        ]
    )
    await customers.add_suppression(
        customer_id_for_mdm_code(loser), Suppression(type="do-not-mail"), MANAGER
    )
    return survivor, loser


async def assert_merged(customers, survivor_code: str, loser_code: str) -> dict:
    survivor = await customers.store.get(customer_id_for_mdm_code(survivor_code))
    loser = await customers.store.get(customer_id_for_mdm_code(loser_code))
    assert loser["status"] == "void" and loser["merged_into"] == survivor["_id"], loser
    assert survivor["merged_ids"] == [loser["_id"]], survivor
    assert {s["type"] for s in loser.get("suppressions", [])} <= {
        s["type"] for s in survivor.get("suppressions", [])
    }, "the survivor holds every suppression the loser held"
    return survivor


def edit_before_the_merge_writes(customers, edit):
    """Make ``edit`` land after the merge read the records and before its first write."""
    write = customers.store.write_changes
    done: list[bool] = []

    async def edit_then_write(changes, slot=None):
        if slot is not None and not done:
            done.append(True)
            await edit()
        return await write(changes, slot)

    customers.store.write_changes = edit_then_write


async def test_an_edit_of_the_survivor_during_the_merge_does_not_stop_it_half_way(
    service, mdm
) -> None:
    customers, publisher = service
    survivor, loser = await two_customers(customers, mdm)
    survivor_id = customer_id_for_mdm_code(survivor)
    publisher.take()

    async def edit() -> None:
        await customers.edit(survivor_id, {"middle_name": "Maria"}, 1, MANAGER)

    edit_before_the_merge_writes(customers, edit)
    assert await customers.ingest_mdm([mdm.merge(survivor, loser, 2, 2)]) == []
    merged = await assert_merged(customers, survivor, loser)
    assert merged["middle_name"] == "Maria", "the edit stays"
    assert [t for t, _, _ in publisher.take()].count(MERGED) == 1


async def test_a_tag_given_to_the_loser_during_the_merge_reaches_the_survivor(service, mdm) -> None:
    customers, publisher = service
    survivor, loser = await two_customers(customers, mdm)
    loser_id = customer_id_for_mdm_code(loser)
    publisher.take()

    async def tag() -> None:
        await customers.add_suppression(loser_id, Suppression(type="do-not-call"), MANAGER)

    edit_before_the_merge_writes(customers, tag)
    assert await customers.ingest_mdm([mdm.merge(survivor, loser, 2, 2)]) == []
    merged = await assert_merged(customers, survivor, loser)
    assert {s["type"] for s in merged["suppressions"]} == {"do-not-call", "do-not-mail"}
    assert [t for t, _, _ in publisher.take()].count(MERGED) == 1


async def test_a_merge_and_edits_of_both_customers_at_once_always_finish_the_merge(
    service, mdm
) -> None:
    customers, _ = service

    async def jittered(call):
        await asyncio.sleep(random.random() / 300)
        return await call

    for _ in range(ROUNDS):
        survivor, loser = await two_customers(customers, mdm)
        survivor_id, loser_id = map(customer_id_for_mdm_code, (survivor, loser))
        merge, edit, tag = await asyncio.gather(
            jittered(customers.ingest_mdm([mdm.merge(survivor, loser, 2, 2)])),
            jittered(customers.edit(survivor_id, {"middle_name": "Maria"}, 1, MANAGER)),
            jittered(customers.add_suppression(loser_id, Suppression(type="do-not-call"), MANAGER)),
            return_exceptions=True,
        )
        assert merge == [], merge
        merged = await assert_merged(customers, survivor, loser)
        if isinstance(edit, Exception):
            assert isinstance(edit, Conflict), edit
        else:
            assert merged["middle_name"] == "Maria", "an edit that succeeded is kept"
        if isinstance(tag, Exception):
            assert isinstance(tag, Conflict), tag
        else:
            assert "do-not-call" in {s["type"] for s in merged["suppressions"]}
