"""Composition root of the segmentation service."""

from __future__ import annotations

from fastapi import FastAPI
from servicekit.consumer_slot import ConsumerSlot
from servicekit.runtime import ServiceRuntime, create_app

from segmentation import api, consumers
from segmentation.handlers import SegmentationService
from segmentation.recompute import Recompute
from segmentation.settings import SegmentationSettings
from segmentation.store import CUSTOMERS, SEGMENTATIONS, SegmentationStore
from segmentation.team_scope import TeamScope


def build(settings: SegmentationSettings | None = None) -> FastAPI:
    settings = settings or SegmentationSettings()
    runtime = ServiceRuntime(settings)
    store = SegmentationStore(runtime.db)
    segmentation = SegmentationService(
        store,
        runtime.relay_for(SEGMENTATIONS),
        runtime.relay_for(CUSTOMERS),
        settings,
        ConsumerSlot("customer_events", runtime.publisher),
        ConsumerSlot("loyalty_events", runtime.publisher),
        runtime.jobs,
        TeamScope(store),
    )
    runtime.jobs.register(Recompute(segmentation, settings.recompute_batch))
    consumers.subscribe(runtime, segmentation)

    async def prepare(_: ServiceRuntime) -> None:
        await store.create_indexes()

    app = create_app(
        runtime,
        title="Segmentation",
        routers=[api.segmentations, api.profiles],
        on_start=[prepare],
    )
    app.state.segmentation = segmentation
    return app
