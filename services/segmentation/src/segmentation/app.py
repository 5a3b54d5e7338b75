"""Composition root of the segmentation service.

Its use cases arrive with their issue; for now it runs,
reports health and readiness, and owns its database."""

from __future__ import annotations

from fastapi import FastAPI
from servicekit.runtime import ServiceRuntime, create_app
from servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "segmentation"
    http_port: int = 8102


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_app(ServiceRuntime(settings, consumes=False), title="Segmentation")
