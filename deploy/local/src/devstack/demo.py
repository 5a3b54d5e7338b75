"""A small demo data set, loaded through the public interfaces only: customers created through
the gateway, MDM events published on Kafka as an enterprise system would, and a segmentation, a
team and a draft team plan whose list fills itself as the services learn of the customers.
Loading twice changes nothing (MDM codes, segmentation codes and ids are unique)."""

from __future__ import annotations

import asyncio
import time

import httpx
from aiokafka import AIOKafkaProducer
from contracts.customers import Address, CustomerFields
from contracts.mdm import MdmCustomerUpserted
from contracts.topics import MDM_CUSTOMERS

PEOPLE = [
    ("Dr.", "Ana", "Ionescu", "ana.ionescu@example.org", "BR-N01"),
    ("Ms.", "Maria", "Popescu", "maria.popescu@example.org", "BR-N02"),
    ("Mr.", "John", "Smith", "john.smith@example.org", "BR-S01"),
    ("Dr.", "Elena", "Georgescu", "elena.g@example.org", "BR-S02"),
    ("Mr.", "Paul", "Martin", "paul.martin@example.org", "BR-N01"),
]
ACCOUNTS = [
    ("City Hospital", "BR-N01"),
    ("Central Pharmacy", "BR-S01"),
    ("Lakeside Clinic", "BR-N02"),
]


def _address(brick: str, n: int) -> dict:
    return {
        "line1": f"{n} Main Street",
        "city": "Springfield",
        "postal_code": f"1{n:04d}",
        "country": "RO",
        "brick": brick,
        "primary": True,
    }


def load_demo(gateway: str, token: str, kafka_bootstrap: str) -> str:
    headers = {"authorization": f"Bearer {token}"}
    created = existing = 0
    with httpx.Client(base_url=gateway, headers=headers, timeout=10) as client:
        for n, (salutation, first, last, email, brick) in enumerate(PEOPLE, start=1):
            body = {
                "salutation": salutation,
                "first_name": first,
                "last_name": last,
                "email": email,
                "mdm_code": f"DEMO-{n:04d}",
                "preferred_contact_method": "email",
                "addresses": [_address(brick, n)],
            }
            response = client.post("/api/customers", json=body)
            if response.status_code == 201:
                created += 1
            elif response.status_code == 409:
                existing += 1
            else:
                raise RuntimeError(
                    f"demo customer rejected: {response.status_code} {response.text}"
                )
        targeting = _targeting(client)
    asyncio.run(_publish_accounts(kafka_bootstrap))
    return (
        f"demo data: {created} customers created through the gateway ({existing} were there),"
        f" {len(ACCOUNTS)} accounts published as MDM events; {targeting}"
    )


SEGMENTATION = {
    "code": "cardio",
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
            "rule": {"field": "profile.potential", "op": "in", "value": ["high", "medium"]},
        },
        {
            "code": "c",
            "name": "Maintain",
            "rule": {"field": "profile.potential", "op": "eq", "value": "low"},
        },
    ],
}
TEAM = {"id": "north", "name": "North", "bricks": ["BR-N01", "BR-N02"], "reps": ["ana"]}
PLAN = {
    "id": "north-2026-q4",
    "team_id": "north",
    "period": "2026-Q4",
    "segmentations": ["cardio"],
    "targeted_segments": [
        {"segmentation": "cardio", "segment": "a"},
        {"segmentation": "cardio", "segment": "b"},
    ],
    "primary_address_only": True,
}
PROFILES = {
    "DEMO-0001": {"potential": "high", "adoption": "early"},
    "DEMO-0002": {"potential": "low"},
}


def _targeting(client: httpx.Client) -> str:
    for path, body in (
        ("/api/segmentations", SEGMENTATION),
        ("/api/teams", TEAM),
        ("/api/plans", PLAN),
    ):
        response = client.post(path, json=body)
        if response.status_code not in (201, 409):
            raise RuntimeError(f"demo {path} rejected: {response.status_code} {response.text}")
    profiled = 0
    for code, values in PROFILES.items():
        found = client.get("/api/customers", params={"mdm_code": code}).json()["items"]
        if not found:
            continue
        path = f"/api/profiles/{found[0]['id']}/cardio"
        deadline = time.monotonic() + 15  # the segmentation service learns of them by events
        while (answer := client.put(path, json={"values": values})).status_code == 404:
            if time.monotonic() > deadline:
                break
            time.sleep(0.3)
        profiled += answer.status_code == 200
    return f"segmentation cardio, team north, plan north-2026-q4 ({profiled} customers profiled)"


async def _publish_accounts(kafka_bootstrap: str) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for n, (name, brick) in enumerate(ACCOUNTS, start=1):
            code = f"DEMO-ACC-{n:03d}"
            record = CustomerFields(
                kind="account",
                customer_type="account",
                organization=name,
                addresses=[Address(**_address(brick, 100 + n))],
            )
            envelope = MdmCustomerUpserted(mdm_code=code, version=1, record=record).envelope(
                source="demo/mdm", subject=code
            )
            await producer.send_and_wait(
                MDM_CUSTOMERS.name, envelope.body(), key=code.encode(), headers=envelope.headers()
            )
    finally:
        await producer.stop()
