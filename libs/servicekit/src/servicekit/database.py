"""The service's MongoDB client (PyMongo's native async API)."""

from __future__ import annotations

from pymongo import AsyncMongoClient

from servicekit.settings import ServiceSettings

DUPLICATE_KEY = 11000


def make_client(settings: ServiceSettings) -> AsyncMongoClient:
    return AsyncMongoClient(
        settings.mongodb_url,
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=5000,
        appname=settings.service_name,
    )
