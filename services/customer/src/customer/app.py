"""Composition root of the customer service."""

from __future__ import annotations

from fastapi import FastAPI
from servicekit.runtime import ServiceRuntime, create_app

from customer import api, consumers
from customer.handlers import CustomerService
from customer.settings import CustomerSettings
from customer.store import CUSTOMERS, ERASURES, CustomerStore


def build(settings: CustomerSettings | None = None) -> FastAPI:
    settings = settings or CustomerSettings()
    runtime = ServiceRuntime(settings)
    store = CustomerStore(runtime.db)
    customers = CustomerService(
        store, runtime.relay_for(CUSTOMERS), runtime.relay_for(ERASURES), settings
    )
    consumers.subscribe(runtime, customers)

    async def create_indexes(_: ServiceRuntime) -> None:
        await store.create_indexes()

    app = create_app(
        runtime, title="Customer master", routers=[api.router], on_start=[create_indexes]
    )
    app.state.customers = customers
    return app
