"""A small demo data set, loaded through the public interfaces only: customers created through
the gateway, and MDM events published on Kafka as an enterprise system would. Loading twice
changes nothing (MDM codes are unique; MDM versions repeat)."""

from __future__ import annotations

import asyncio

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
    asyncio.run(_publish_accounts(kafka_bootstrap))
    return (
        f"demo data: {created} customers created through the gateway ({existing} were there),"
        f" {len(ACCOUNTS)} accounts published as MDM events"
    )


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
