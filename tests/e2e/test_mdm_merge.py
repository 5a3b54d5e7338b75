"""An MDM merge: the survivor takes the loser's tags and interactions, the loser retires, and
the master's later events for the loser change nothing."""

from __future__ import annotations

import uuid

import pytest
from devstack.probes import committed_past, eventually, header, read_topic

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def test_merge_moves_everything_under_the_survivor(
    platform, gateway, mdm, find_by_mdm_code
) -> None:
    run = uuid.uuid4().hex[:8]
    keep, lose = f"KEEP-{run}", f"LOSE-{run}"
    await mdm.upsert(keep, 1, first_name="Radu", last_name="Dinu", email="radu@example.org")
    await mdm.upsert(lose, 7, first_name="Radu", last_name="Dinu", email="r.dinu@example.org")
    survivor = await eventually(lambda: find_by_mdm_code(keep), what="the survivor")
    loser = await eventually(lambda: find_by_mdm_code(lose), what="the loser")
    loser_path = f"/api/customers/{loser['id']}"
    await gateway.post(f"{loser_path}/suppressions", json={"type": "do-not-mail"})
    note = (await gateway.post(f"{loser_path}/notes", json={"text": "met at a congress"})).json()

    await mdm.merge(keep, lose, 2)

    async def merged() -> dict | None:
        found = await find_by_mdm_code(keep)
        return found if found and found["merged_ids"] else None

    after = await eventually(merged, what="the merge applied")
    assert after["merged_ids"] == [loser["id"]]
    assert [s["type"] for s in after["suppressions"]] == ["do-not-mail"]
    retired = (await gateway.get(loser_path)).json()
    assert (retired["status"], retired["merged_into"]) == ("void", survivor["id"])
    notes = (await gateway.get(f"/api/customers/{survivor['id']}/notes")).json()["items"]
    assert [n["id"] for n in notes] == [note["id"]]
    blocked = await gateway.post(f"{loser_path}/reactivate")
    assert blocked.status_code == 409 and blocked.json()["merged_into"] == survivor["id"]

    # The master still sends the loser, and the merge again: nothing changes.
    await mdm.merge(keep, lose, 2)
    sent = await mdm.upsert(lose, 8, first_name="Zombie", last_name="Dinu")
    bootstrap = platform.deployment.servers.kafka_bootstrap_servers
    group = platform.deployment.consumer_group_prefix + "customer-mdm-ingest"
    await eventually(
        lambda: committed_past(bootstrap, group, sent.topic, sent.partition, sent.offset),
        what="the later events consumed",
    )
    assert (await gateway.get(loser_path)).json()["version"] == retired["version"]
    assert (await find_by_mdm_code(keep))["version"] == after["version"]

    records = await read_topic(
        bootstrap,
        platform.topic("customer.events"),
        until=lambda rs: any(
            header(r, "ce_type") == "cdp.customer.CustomersMerged"
            and r.key == survivor["id"].encode()
            for r in rs
        ),
    )
    merges = [
        r
        for r in records
        if header(r, "ce_type") == "cdp.customer.CustomersMerged"
        and r.key == survivor["id"].encode()
    ]
    assert len(merges) == 1


async def test_a_merge_naming_an_unknown_customer_is_dead_lettered(
    platform, mdm, find_by_mdm_code
) -> None:
    code = f"ALONE-{uuid.uuid4().hex[:8]}"
    await mdm.upsert(code, 1, last_name="Alone")
    await eventually(lambda: find_by_mdm_code(code), what="the customer")
    await mdm.merge(code, f"GHOST-{code}", 2)
    dead = await read_topic(
        platform.deployment.servers.kafka_bootstrap_servers,
        mdm.topic + ".dlt",
        until=lambda rs: any(r.key == code.encode() for r in rs),
    )
    (ours,) = [r for r in dead if r.key == code.encode()]
    assert "no customer with MDM code GHOST-" in header(ours, "dlt_reason")
