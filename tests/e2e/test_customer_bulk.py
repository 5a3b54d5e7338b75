"""Bulk work through the gateway: CSV updates with a report per row, and deleting what a
search finds only after confirming the count."""

from __future__ import annotations

import uuid

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def create(gateway: httpx.AsyncClient, last_name: str) -> str:
    response = await gateway.post(
        "/api/customers", json={"last_name": last_name, "email": "bulk@example.org"}
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def csv_file(text: str) -> dict:
    return {"file": ("update.csv", text.encode(), "text/csv")}


async def test_csv_updates_report_each_row_and_apply_the_good_ones(gateway) -> None:
    family = f"Bk{uuid.uuid4().hex[:6]}"
    first, second = await create(gateway, family), await create(gateway, family)
    ghost = str(uuid.uuid4())

    report = await gateway.post(
        "/api/bulk/suppressions",
        files=csv_file(
            "Customer ID,Suppression\n"
            f"{first},do-not-mail\n"
            f"{ghost},do-not-mail\n"
            f"{second},!!bad\n"
            "\n"
            f"{second},do-not-call,2026-03-01,asked\n"
            f"{first},do-not-mail\n"
        ),
    )
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["rows"], body["applied"], body["unchanged"]) == (5, 2, 1)
    assert [(r["row"], r["column"]) for r in body["rejected"]] == [(3, "customer_id"), (4, "type")]
    customer = (await gateway.get(f"/api/customers/{second}")).json()
    assert customer["suppressions"] == [
        {"type": "do-not-call", "date": "2026-03-01", "reason": "asked"}
    ]

    trait = f"Bulk-{uuid.uuid4().hex[:6]}"
    assert (await gateway.post("/api/traits", json={"name": trait})).status_code == 201
    traits = await gateway.post(
        "/api/bulk/traits",
        files=csv_file(f"{first},{trait}\n{first},Unknown-Trait\n{second},{trait}\n"),
    )
    assert traits.json()["applied"] == 2
    assert [r["row"] for r in traits.json()["rejected"]] == [2]
    assert (await gateway.get(f"/api/customers/{second}")).json()["traits"] == [trait]

    fulfilments = await gateway.post(
        "/api/bulk/fulfilments",
        files=csv_file(f"{first},2026-02-03,Send Brochure,Spring\n{first},yesterday,Send,X\n"),
    )
    assert fulfilments.json()["applied"] == 1
    assert fulfilments.json()["rejected"][0]["column"] == "date"
    listed = (await gateway.get(f"/api/customers/{first}/fulfilments")).json()["items"]
    assert [(f["type"], f["date"]) for f in listed] == [("Send Brochure", "2026-02-03")]

    binary = await gateway.post(
        "/api/bulk/traits", files={"file": ("a.csv", b"\xff\xfe\x00", "text/csv")}
    )
    assert binary.status_code == 422 and binary.json()["errors"][0]["field"] == "file"


async def test_deleting_from_a_search_needs_the_confirmed_count(platform, gateway) -> None:
    family = f"Del{uuid.uuid4().hex[:6]}"
    ids = [await create(gateway, family), await create(gateway, family)]
    request = {"criteria": {"last_name": family}}

    as_rep = await gateway.post(
        "/api/bulk/delete", json=request, headers=platform.auth(role="rep", teams=["north"])
    )
    assert as_rep.status_code == 403
    everything = await gateway.post("/api/bulk/delete", json={"criteria": {}})
    assert everything.status_code == 422

    preview = (await gateway.post("/api/bulk/delete", json=request)).json()
    assert (preview["count"], preview["deleted"]) == (2, 0)
    ids.append(await create(gateway, family))  # the set changes after the preview
    stale = await gateway.post("/api/bulk/delete", json={**request, "confirm": preview["confirm"]})
    assert stale.status_code == 409 and stale.json()["count"] == 3

    done = await gateway.post(
        "/api/bulk/delete", json={**request, "confirm": stale.json()["confirm"]}
    )
    assert done.json() == {"count": 3, "deleted": 3}
    for customer_id in ids:
        assert (await gateway.get(f"/api/customers/{customer_id}")).status_code == 404
