"""Predicted value through the gateway: a run fits BG/NBD and Gamma-Gamma on every member's
purchases and each member shows whether they still buy and what they are worth."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from devstack.probes import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def new_member(gateway: httpx.AsyncClient) -> str:
    created = await gateway.post(
        "/api/customers",
        json={"first_name": "Val", "last_name": "Buyer", "email": f"{uuid.uuid4().hex}@ex.org"},
    )
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]

    async def enrolled() -> bool:
        return (await gateway.get(f"/api/members/{customer_id}")).status_code == 200

    await eventually(enrolled, what="the enrollment")
    return customer_id


async def buy(gateway: httpx.AsyncClient, customer_id: str, days_ago: list[int]) -> None:
    now = datetime.now(UTC)
    for ago in days_ago:
        response = await gateway.post(
            "/api/purchases",
            json={
                "order_id": f"V-{uuid.uuid4().hex[:10]}",
                "customer_id": customer_id,
                "purchased_at": (now - timedelta(days=ago)).isoformat(),
                "lines": [{"product": "Book", "category": "Books", "amount": "40"}],
            },
        )
        assert response.status_code == 201, response.text


async def test_a_run_predicts_each_members_value(gateway) -> None:
    code = f"value-{uuid.uuid4().hex[:6]}"
    high_value = {
        "code": code,
        "name": "High value",
        "segments": [
            {
                "code": "high",
                "name": "High value",
                "rule": {"field": "loyalty.clv", "op": "gte", "value": 100},
            }
        ],
    }
    assert (await gateway.post("/api/segmentations", json=high_value)).status_code == 201
    loyal = await new_member(gateway)  # buys every two weeks, to this week
    lapsed = await new_member(gateway)  # bought often, then nothing for months
    await buy(gateway, loyal, [2, 16, 30, 44, 58, 72, 86, 100])
    await buy(gateway, lapsed, [300, 290, 280, 270, 260, 250])
    for _ in range(10):  # enough repeat buyers for the models to fit
        await buy(gateway, await new_member(gateway), [5, 40, 120])

    started = await gateway.post("/api/value/runs")
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    assert location == f"/api/value/runs/{started.json()['version']}"

    async def finished() -> dict | None:
        run = (await gateway.get(location)).json()
        return run if run["state"] != "running" else None

    body = await eventually(finished, what="the predicted-value run", timeout=60)
    assert body["state"] == "done", body
    # a dozen made-up histories need not pin the models down: the run says whether they did
    assert body["members"] >= 12 and isinstance(body["converged"], bool)
    assert body["horizon_months"] == 12
    assert set(body["bg_nbd"]) == {"r", "alpha", "a", "b"}
    assert (await gateway.get("/api/value/runs/latest")).json()["version"] == body["version"]

    predicted = {
        who: (await gateway.get(f"/api/members/{who}")).json()["predicted"]
        for who in (loyal, lapsed)
    }
    assert predicted[loyal]["version"] == body["version"]
    assert predicted[loyal]["p_alive"] > 0.8 > predicted[lapsed]["p_alive"]
    assert predicted[loyal]["clv"] > predicted[lapsed]["clv"] >= 0
    assert predicted[loyal]["expected_purchases"] > 1
    assert predicted[loyal]["clv"] >= 100 > predicted[lapsed]["clv"]

    async def segment(who: str) -> str | None:
        profile = await gateway.get(f"/api/profiles/{who}")
        if profile.status_code != 200:
            return None
        return profile.json()["segmentations"].get(code, {}).get("segment")

    async def high() -> bool:
        return await segment(loyal) == "high"

    await eventually(high, what="the high-value customer in the segment")  # by events alone
    assert await segment(lapsed) != "high"


async def test_only_managers_run_it(platform, gateway) -> None:
    rep = platform.auth(user="rita", role="rep", teams=["north"])
    assert (await gateway.post("/api/value/runs", headers=rep)).status_code == 403


async def test_a_backtest_as_of_a_past_day_checks_the_model_and_leaves_members_alone(
    gateway,
) -> None:
    members = [await new_member(gateway) for _ in range(10)]
    for member in members:  # three purchases before the cut-off, two after it
        await buy(gateway, member, [150, 120, 90, 30, 10])
    as_of = (datetime.now(UTC) - timedelta(days=60)).date()
    for bad, field in (
        ({"as_of": datetime.now(UTC).date().isoformat()}, "as_of"),
        ({"model": "pareto"}, "model"),
        ({"horizon_months": 0}, "horizon_months"),
        ({"colour": "red"}, "colour"),
    ):
        refused = await gateway.post("/api/value/runs", json=bad)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [field], refused.text

    started = await gateway.post(
        "/api/value/runs", json={"model": "mbg-nbd", "as_of": as_of.isoformat()}
    )
    assert started.status_code == 202, started.text
    assert (started.json()["model"], started.json()["backtest"]) == ("mbg-nbd", True)

    async def finished() -> dict | None:
        run = (await gateway.get(started.headers["location"])).json()
        return run if run["state"] != "running" else None

    run = await eventually(finished, what="the backtest", timeout=60)
    assert run["state"] == "done", run
    assert set(run["mbg_nbd"]) == {"r", "alpha", "a", "b"}
    holdout = run["holdout"]
    assert 8 < holdout["weeks"] < 9 and holdout["expected"] > 0
    assert holdout["actual"] >= 2 * len(members)  # ours, and other tests' members' since then
    for member in members:  # a backtest predicts nobody's value
        predicted = (await gateway.get(f"/api/members/{member}")).json().get("predicted")
        assert predicted is None or predicted["version"] != run["version"]
