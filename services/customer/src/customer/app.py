"""Composition root of the customer service."""

from __future__ import annotations

from fastapi import FastAPI
from servicekit.runtime import ServiceRuntime, create_app

from customer import api, bulk_api, consumers, interactions_api
from customer.handlers import CustomerService
from customer.interactions import InteractionService
from customer.settings import CustomerSettings
from customer.store import CUSTOMERS, ERASURES, CustomerStore, InteractionStore


def build(settings: CustomerSettings | None = None) -> FastAPI:
    settings = settings or CustomerSettings()
    runtime = ServiceRuntime(settings)
    store = CustomerStore(runtime.db)
    interaction_store = InteractionStore(runtime.db)
    customers = CustomerService(
        store,
        interaction_store,
        runtime.relay_for(CUSTOMERS),
        runtime.relay_for(ERASURES),
        settings,
    )
    interactions = InteractionService(
        interaction_store, settings.attachment_max_bytes, frozenset(settings.attachment_types)
    )
    consumers.subscribe(runtime, customers)

    async def create_indexes(_: ServiceRuntime) -> None:
        await store.create_indexes()
        await interaction_store.create_indexes()

    app = create_app(
        runtime,
        title="Customer master",
        routers=[api.router, interactions_api.router, bulk_api.router],
        on_start=[create_indexes],
    )
    app.state.customers = customers
    app.state.interactions = interactions
    return app
