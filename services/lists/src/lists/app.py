"""Composition root of the lists service."""

from __future__ import annotations

from fastapi import FastAPI
from servicekit.consumer_slot import ConsumerSlot
from servicekit.runtime import ServiceRuntime, create_app

from lists import api, consumers, static_api
from lists.handlers import ListsService
from lists.settings import ListsSettings
from lists.static_lists import StaticListService
from lists.store import MEMBERSHIPS, ListsStore, StaticListStore


def build(settings: ListsSettings | None = None) -> FastAPI:
    settings = settings or ListsSettings()
    runtime = ServiceRuntime(settings)
    store = ListsStore(runtime.db)
    lists = ListsService(
        store,
        runtime.relay_for(MEMBERSHIPS),
        settings,
        ConsumerSlot("customer_and_segment_events", runtime.publisher),
    )
    static_lists = StaticListService(StaticListStore(runtime.db), store)
    consumers.subscribe(runtime, lists)

    async def prepare(_: ServiceRuntime) -> None:
        await store.create_indexes()
        await static_lists.store.create_indexes()

    async def finish(_: ServiceRuntime) -> None:
        await lists.stop()

    app = create_app(
        runtime,
        title="Targeting lists",
        routers=[api.teams, api.plans, static_api.router, static_api.customers],
        on_start=[prepare],
        on_stop=[finish],
    )
    app.state.lists = lists
    app.state.static_lists = static_lists
    return app
