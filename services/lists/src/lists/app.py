"""Composition root of the lists service."""

from __future__ import annotations

from fastapi import FastAPI
from servicekit.consumer_slot import ConsumerSlot
from servicekit.runtime import ServiceRuntime, create_app

from lists import api, consumers, static_api
from lists.directory import Directory
from lists.handlers import ListsService
from lists.rebuild import PlanListRebuild
from lists.settings import ListsSettings
from lists.static_lists import StaticListService
from lists.store import MEMBERSHIPS, PLANS, TEAMS, ListsStore, StaticListStore


def build(settings: ListsSettings | None = None) -> FastAPI:
    settings = settings or ListsSettings()
    runtime = ServiceRuntime(settings)
    store = ListsStore(runtime.db)
    lists = ListsService(
        store,
        runtime.relay_for(MEMBERSHIPS),
        settings,
        ConsumerSlot("customer_and_segment_events", runtime.publisher),
        runtime.jobs,
        Directory(settings, runtime.relay_for(TEAMS), runtime.relay_for(PLANS)),
    )
    runtime.jobs.register(PlanListRebuild(lists, settings.rebuild_batch))
    static_lists = StaticListService(StaticListStore(runtime.db), store)
    consumers.subscribe(runtime, lists)

    async def prepare(_: ServiceRuntime) -> None:
        await store.create_indexes()
        await static_lists.store.create_indexes()
        await lists.directory.publish_all(
            runtime.publisher, await store.find(TEAMS, {}), await store.find(PLANS, {})
        )

    app = create_app(
        runtime,
        title="Targeting lists",
        routers=[api.teams, api.plans, static_api.router, static_api.customers],
        on_start=[prepare],
    )
    app.state.lists = lists
    app.state.static_lists = static_lists
    return app
