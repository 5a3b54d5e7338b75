"""The segmentation service wired to the real database, its events kept in memory."""

from __future__ import annotations

import pytest
from segmentation.handlers import SegmentationService
from segmentation.settings import SegmentationSettings
from segmentation.store import SegmentationStore
from segmentation.team_scope import TeamScope
from servicekit.batch_jobs import COLLECTION, BatchJobRunner
from servicekit.consumer_slot import ConsumerSlot
from servicekit.messaging import OutgoingRecord
from servicekit.outbox import OutboxRelay


class Publisher:
    def __init__(self) -> None:
        self.published: list[OutgoingRecord] = []

    async def publish(self, records: list[OutgoingRecord]) -> None:
        self.published.extend(records)


@pytest.fixture
async def segmentation(mongo_db) -> SegmentationService:
    publisher = Publisher()
    store = SegmentationStore(mongo_db)
    await store.create_indexes()
    return SegmentationService(
        store,
        OutboxRelay(mongo_db["segmentations"], publisher),  # type: ignore[arg-type]
        OutboxRelay(store.customers, publisher),  # type: ignore[arg-type]
        SegmentationSettings(env="dev"),
        ConsumerSlot("customer_events", publisher),  # type: ignore[arg-type]
        ConsumerSlot("loyalty_events", publisher),  # type: ignore[arg-type]
        BatchJobRunner(mongo_db[COLLECTION], publisher),  # type: ignore[arg-type]
        TeamScope(store),
    )
