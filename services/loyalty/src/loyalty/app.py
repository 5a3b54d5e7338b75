"""Composition root of the loyalty service."""

from __future__ import annotations

from fastapi import FastAPI
from servicekit.runtime import ServiceRuntime, create_app

from loyalty import api, consumers
from loyalty.handlers import LoyaltyService
from loyalty.settings import LoyaltySettings
from loyalty.store import MEMBERS, LoyaltyStore


def build(settings: LoyaltySettings | None = None) -> FastAPI:
    settings = settings or LoyaltySettings()
    runtime = ServiceRuntime(settings)
    store = LoyaltyStore(runtime.db)
    loyalty = LoyaltyService(store, runtime.relay_for(MEMBERS), settings)
    consumers.subscribe(runtime, loyalty)

    async def create_indexes(_: ServiceRuntime) -> None:
        await store.create_indexes()

    app = create_app(runtime, title="Loyalty", routers=[api.router], on_start=[create_indexes])
    app.state.loyalty = loyalty
    return app
