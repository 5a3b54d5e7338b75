"""The service's MongoDB client (PyMongo's native async API)."""

from __future__ import annotations

from pymongo import AsyncMongoClient, monitoring

from servicekit.metrics import DB_COMMAND_SECONDS
from servicekit.settings import ServiceSettings

DUPLICATE_KEY = 11000


def make_client(settings: ServiceSettings) -> AsyncMongoClient:
    return AsyncMongoClient(
        settings.mongodb_url,
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=5000,
        appname=settings.service_name,
        event_listeners=[CommandTimes()],
    )


class CommandTimes(monitoring.CommandListener):
    """Each command's round trip into ``cdp_db_command_duration_seconds``."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        DB_COMMAND_SECONDS.labels(event.command_name, "ok").observe(event.duration_micros / 1e6)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        DB_COMMAND_SECONDS.labels(event.command_name, "error").observe(event.duration_micros / 1e6)
