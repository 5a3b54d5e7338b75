"""Composition root of the customer service."""

from __future__ import annotations

from fastapi import FastAPI
from servicekit.consumer_slot import ConsumerSlot
from servicekit.runtime import ServiceRuntime, create_app

from customer import api, bulk_api, consumers, interactions_api, saved_searches
from customer.handlers import MDM_INGEST, CustomerService
from customer.imports import CustomerImport, Importer
from customer.interactions import InteractionService
from customer.settings import CustomerSettings
from customer.store import CUSTOMERS, ERASURES, CustomerStore, ImportStore, InteractionStore
from customer.teams import TeamReplica


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
        ConsumerSlot(MDM_INGEST, runtime.publisher),
    )
    interactions = InteractionService(
        interaction_store, settings.attachment_max_bytes, frozenset(settings.attachment_types)
    )
    import_files = ImportStore(runtime.db)
    importer = Importer(customers, import_files, runtime.jobs)
    runtime.jobs.register(CustomerImport(customers, import_files, settings.import_chunk))
    searches = saved_searches.SavedSearchStore(runtime.db)
    teams = TeamReplica(runtime.db)
    consumers.subscribe(runtime, customers, teams)

    async def prepare(_: ServiceRuntime) -> None:
        await store.create_indexes()
        await interaction_store.create_indexes()
        await searches.create_indexes()

    app = create_app(
        runtime,
        title="Customer master",
        routers=[
            api.router,
            interactions_api.router,
            bulk_api.router,
            saved_searches.router,
        ],
        on_start=[prepare],
    )
    app.state.customers = customers
    app.state.interactions = interactions
    app.state.importer = importer
    app.state.saved_searches = searches
    app.state.teams = teams
    return app
