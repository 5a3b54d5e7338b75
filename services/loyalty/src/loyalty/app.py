"""Composition root of the loyalty service."""

from __future__ import annotations

from fastapi import FastAPI
from servicekit.runtime import ServiceRuntime, create_app

from loyalty import api, consumers
from loyalty.handlers import LoyaltyService
from loyalty.settings import LoyaltySettings
from loyalty.store import MEMBERS, LoyaltyStore, PointsStore


def build(settings: LoyaltySettings | None = None) -> FastAPI:
    settings = settings or LoyaltySettings()
    runtime = ServiceRuntime(settings)
    store = LoyaltyStore(runtime.db)
    points = PointsStore(runtime.db)
    loyalty = LoyaltyService(store, points, runtime.relay_for(MEMBERS), settings)
    consumers.subscribe(runtime, loyalty)

    async def create_indexes(_: ServiceRuntime) -> None:
        await store.create_indexes()
        await points.create_indexes()

    app = create_app(
        runtime, title="Loyalty", routers=[api.members, api.purchases], on_start=[create_indexes]
    )
    app.state.loyalty = loyalty
    return app
