"""What the targeting tests share: a segmentation definition, a customer in a brick, a team with
a draft plan, and the probes of a plan's list."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from devstack.probes import eventually


def cardio(code: str, b_values: list[str]) -> dict[str, Any]:
    return {
        "code": code,
        "name": "Cardiology potential",
        "level": "customer",
        "dimensions": [
            {"name": "potential", "values": ["high", "medium", "low"]},
            {"name": "adoption", "values": ["early", "late"]},
        ],
        "segments": [
            {
                "code": "a",
                "name": "Top prescribers",
                "rule": {
                    "all": [
                        {"field": "profile.potential", "op": "eq", "value": "high"},
                        {"field": "profile.adoption", "op": "eq", "value": "early"},
                    ]
                },
            },
            {
                "code": "b",
                "name": "Growth",
                "rule": {"field": "profile.potential", "op": "in", "value": b_values},
            },
            {
                "code": "kol",
                "name": "Opinion leaders",
                "rule": {"field": "customer.traits", "op": "eq", "value": "kol"},
            },
        ],
    }


async def new_customer(gateway: httpx.AsyncClient, brick: str, **fields: Any) -> dict[str, Any]:
    code = f"HCP-{uuid.uuid4().hex[:8]}"
    response = await gateway.post(
        "/api/customers",
        json={
            "first_name": "Maria",
            "last_name": "Pop",
            "email": f"{code.lower()}@example.org",
            "mdm_code": code,
            "addresses": [{"line1": "1 Main St", "brick": brick, "primary": True}],
            **fields,
        },
    )
    assert response.status_code == 201, response.text
    customer = response.json()

    async def known() -> bool:  # profiles are saved by segmentation, which learns by event
        return (await gateway.get(f"/api/profiles/{customer['id']}")).status_code == 200

    await eventually(known, what=f"segmentation to know {customer['id']}")
    return customer


async def make_plan(gateway: httpx.AsyncClient) -> dict[str, Any]:
    """A segmentation, a team with two bricks and a draft plan targeting segments a and b."""
    run = uuid.uuid4().hex[:6]
    segmentation = f"cardio-{run}"
    created = await gateway.post("/api/segmentations", json=cardio(segmentation, ["medium"]))
    assert created.status_code == 201, created.text
    team = f"north-{run}"
    response = await gateway.post(
        "/api/teams",
        json={"id": team, "name": "North", "bricks": ["BN1", "BN2"], "reps": ["rep1"]},
    )
    assert response.status_code == 201, response.text
    plan_id = f"{team}-2026"
    response = await gateway.post(
        "/api/plans",
        json={
            "id": plan_id,
            "team_id": team,
            "period": "2026-Q4",
            "segmentations": [segmentation],
            "targeted_segments": [
                {"segmentation": segmentation, "segment": "a"},
                {"segmentation": segmentation, "segment": "b"},
            ],
            "primary_address_only": True,
        },
    )
    assert response.status_code == 201, response.text
    return {"id": plan_id, "team": team, "segmentation": segmentation}


async def explained(gateway: httpx.AsyncClient, plan_id: str, customer_id: str) -> dict:
    response = await gateway.get(f"/api/plans/{plan_id}/explain/{customer_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def known_to_lists(gateway: httpx.AsyncClient, plan_id: str, customer_id: str) -> dict:
    async def check() -> dict | None:
        answer = await explained(gateway, plan_id, customer_id)
        return answer if answer["customer"] is not None else None

    return await eventually(check, what=f"lists to learn of {customer_id}")


async def in_list(gateway: httpx.AsyncClient, plan_id: str, customer_id: str) -> bool:
    response = await gateway.get(f"/api/plans/{plan_id}/customers", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return customer_id in {item["customer_id"] for item in response.json()["items"]}
