"""Timeline pages over items that share a time (every date-only fulfilment sits at midnight):
following each page's cursor gives every item exactly once, on the customer service's timeline
and on the Customer 360 timeline that merges it with loyalty's."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from devstack.probes import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.servers]
DAY = "2026-01-02"


async def member_with_a_crowded_day(gateway: httpx.AsyncClient) -> str:
    """A loyalty member with five fulfilments and three purchases all at midnight of DAY."""
    created = await gateway.post(
        "/api/customers",
        json={"first_name": "Ida", "last_name": "Pag", "email": f"{uuid.uuid4().hex}@ex.org"},
    )
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    for n in range(5):
        sent = await gateway.post(
            f"/api/customers/{customer_id}/fulfilments",
            json={"type": "Send Brochure", "date": DAY, "activity": f"A{n}"},
        )
        assert sent.status_code == 201, sent.text

    async def enrolled() -> bool:
        return (await gateway.get(f"/api/members/{customer_id}")).status_code == 200

    await eventually(enrolled, what=f"{customer_id} enrolled")
    for n in range(3):
        bought = await gateway.post(
            "/api/purchases",
            json={
                "order_id": f"P-{uuid.uuid4().hex[:10]}",
                "customer_id": customer_id,
                "purchased_at": f"{DAY}T00:00:00Z",
                "lines": [{"product": f"Book {n}", "category": "Books", "amount": "10.00"}],
            },
        )
        assert bought.status_code == 201, bought.text
    return customer_id


async def test_timeline_pages_give_items_sharing_a_time_exactly_once(gateway) -> None:
    customer_id = await member_with_a_crowded_day(gateway)
    path = f"/api/customers/{customer_id}/timeline"
    everything = (await gateway.get(path, params={"limit": 100})).json()["items"]
    assert len(everything) == 5

    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(10):
        items = (await gateway.get(path, params=params)).json()["items"]
        if not items:
            break
        seen += [i["id"] for i in items]
        params = {"limit": 2, "before": items[-1]["at"], "before_id": items[-1]["id"]}
    assert seen == [i["id"] for i in everything], "each item once, in the timeline's order"

    path = f"/api/customers/{customer_id}/360/timeline"
    whole = (await gateway.get(path, params={"limit": 100})).json()
    assert whole["next_before"] is None
    keys = [(i["source"], i["kind"], i.get("id")) for i in whole["items"]]
    assert len(keys) == len(set(keys)) >= 5 + 3 + 1  # fulfilments, purchases, enrollment
    paged: list[tuple[str, str, Any]] = []
    params = {"limit": 2}
    for _ in range(20):
        page = (await gateway.get(path, params=params)).json()
        paged += [(i["source"], i["kind"], i.get("id")) for i in page["items"]]
        if page["next_before"] is None:
            break
        params = {"limit": 2, "before": page["next_before"]}
    assert paged == keys, "the 360 pages give each item once, in the whole list's order"


async def test_the_360_timeline_takes_a_plain_time_and_refuses_a_made_up_cursor(gateway) -> None:
    customer_id = await member_with_a_crowded_day(gateway)
    path = f"/api/customers/{customer_id}/360/timeline"
    older = (await gateway.get(path, params={"before": f"{DAY}T00:00:00.001Z"})).json()
    assert {i["kind"] for i in older["items"]} == {"fulfilments", "purchase"}, "strictly older"
    assert (await gateway.get(path, params={"before": f"{DAY}T00:00:00Z"})).json()["items"] == []
    refused = await gateway.get(path, params={"before": "not-a-cursor"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "before"
