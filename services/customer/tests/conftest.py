"""The customer service's use cases over the real database, with a publisher that records what
they publish, and MDM events as the consumer decodes them."""

from __future__ import annotations

import json

import pytest
from aiokafka import ConsumerRecord
from contracts.events import Event
from contracts.mdm import MdmCustomerDeactivated, MdmCustomersMerged, MdmCustomerUpserted
from contracts.topics import MDM_CUSTOMERS
from customer.handlers import MDM_INGEST, CustomerService
from customer.settings import CustomerSettings
from customer.store import CustomerStore, InteractionStore
from servicekit.consumer_slot import ConsumerSlot
from servicekit.consuming import Delivery, decode_record
from servicekit.messaging import OutgoingRecord
from servicekit.outbox import OutboxRelay


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list[OutgoingRecord] = []

    async def publish(self, records: list[OutgoingRecord]) -> None:
        self.published.extend(records)

    def take(self) -> list[tuple[str, str, int]]:
        """(event type, ce_id, customer version) of what was published since the last take."""
        taken = [
            (
                dict(r.headers)["ce_type"].decode(),
                dict(r.headers)["ce_id"].decode(),
                json.loads(r.value or b"{}").get("customer", {}).get("version"),
            )
            for r in self.published
        ]
        self.published.clear()
        return taken


def delivered(event: Event, key: str, offset: int) -> Delivery:
    """The event as the MDM consumer decodes it from mdm.customers at this offset."""
    envelope = event.envelope(source="erp/mdm-hub", subject=key)
    value = envelope.body()
    record = ConsumerRecord(
        "mdm.customers", 0, offset, 0, 0, key.encode(), value, None, 0, len(value),
        envelope.headers(),
    )  # fmt: skip
    decoded = decode_record(MDM_CUSTOMERS, record)
    assert isinstance(decoded, Delivery)
    return decoded


class Mdm:
    """MDM events, delivered."""

    @staticmethod
    def upsert(code: str, version: int, offset: int, **record: str) -> Delivery:
        event = MdmCustomerUpserted.model_validate(
            {"mdm_code": code, "version": version, "record": {"kind": "person", **record}}
        )
        return delivered(event, code, offset)

    @staticmethod
    def deactivate(code: str, version: int, offset: int) -> Delivery:
        return delivered(MdmCustomerDeactivated(mdm_code=code, version=version), code, offset)

    @staticmethod
    def merge(code: str, merged_code: str, version: int, offset: int) -> Delivery:
        event = MdmCustomersMerged(mdm_code=code, merged_mdm_code=merged_code, version=version)
        return delivered(event, code, offset)


@pytest.fixture
def mdm() -> type[Mdm]:
    return Mdm


@pytest.fixture
async def service(mongo_db):
    publisher = RecordingPublisher()
    store = CustomerStore(mongo_db)
    await store.create_indexes()
    interactions = InteractionStore(mongo_db)
    await interactions.create_indexes()
    settings = CustomerSettings(env="dev")
    customers = CustomerService(
        store,
        interactions,
        OutboxRelay(store.customers, publisher),  # type: ignore[arg-type]
        OutboxRelay(store.erasures, publisher),  # type: ignore[arg-type]
        settings,
        ConsumerSlot(MDM_INGEST, publisher),  # type: ignore[arg-type]
    )
    return customers, publisher
