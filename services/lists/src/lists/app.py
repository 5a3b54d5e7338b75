"""Composition root of the lists service."""

from __future__ import annotations

from fastapi import FastAPI
from servicekit.runtime import ServiceRuntime, create_app

from lists import api, consumers
from lists.handlers import ListsService
from lists.settings import ListsSettings
from lists.store import MEMBERSHIPS, ListsStore


def build(settings: ListsSettings | None = None) -> FastAPI:
    settings = settings or ListsSettings()
    runtime = ServiceRuntime(settings)
    store = ListsStore(runtime.db)
    lists = ListsService(store, runtime.relay_for(MEMBERSHIPS), settings)
    consumers.subscribe(runtime, lists)

    async def prepare(_: ServiceRuntime) -> None:
        await store.create_indexes()

    async def finish(_: ServiceRuntime) -> None:
        await lists.stop()

    app = create_app(
        runtime,
        title="Targeting lists",
        routers=[api.teams, api.plans],
        on_start=[prepare],
        on_stop=[finish],
    )
    app.state.lists = lists
    return app
