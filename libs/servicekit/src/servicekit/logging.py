"""Structured logs carrying the correlation id of the request or event being handled."""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def _add_correlation_id(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    cid = correlation_id.get()
    if cid:
        event.setdefault("correlation_id", cid)
    return event


def configure(service: str, json: bool = True, level: int = logging.INFO) -> None:
    """structlog for our own logs, and every library's standard-library log (uvicorn, FastStream,
    aiokafka, PyMongo) rendered the same way: one JSON object a line, with the service, the
    level, the logger and the correlation id."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        _add_correlation_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    # FastStream's module logger writes colourised text to stderr by itself: through ours
    library = logging.getLogger("faststream")
    library.handlers.clear()
    library.propagate = True


def library_logger(name: str, level: int = logging.INFO) -> logging.Logger:
    """A standard-library logger for a library that takes one (FastStream's broker), rendered
    by the handler :func:`configure` installs."""
    logger = logging.getLogger(name)
    logger.setLevel(level)
    return logger


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
