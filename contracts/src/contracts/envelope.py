"""CloudEvents 1.0 in Kafka's binary content mode: the one envelope every event travels in.

Headers carry the attributes (``ce_id``, ``ce_source``, ``ce_type``, ``ce_time``, ``ce_subject``,
``ce_dataschema``, ``ce_correlationid``, ``ce_causationid``) and ``content-type``; the body is the
data alone; the record key is the partition key. Any CloudEvents SDK writes and reads this shape;
``tests/contract`` checks both directions against the ``cloudevents`` package. The codec here is
our own because it sits on the ingest hot path and does no more than the format needs.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
CE_PREFIX = "ce_"
REQUIRED_ATTRIBUTES = ("id", "source", "type", "specversion")


class EnvelopeError(ValueError):
    """A record that is not a decodable CloudEvent; it belongs in the dead-letter topic."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """One CloudEvent: attributes plus the JSON data it carries. ``data`` is the JSON object (as
    decoded), or its encoding as sent (an event model serialises itself straight to JSON: a
    detour through a dict cost as much again on every event published)."""

    type: str
    source: str
    data: Mapping[str, Any] | bytes
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None
    dataschema: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers in binary content mode."""
        pairs: list[tuple[str, str | None]] = [
            ("ce_specversion", SPEC_VERSION),
            ("ce_id", self.id),
            ("ce_source", self.source),
            ("ce_type", self.type),
            ("ce_time", _format_time(self.time)),
            ("ce_subject", self.subject),
            ("ce_dataschema", self.dataschema),
            ("ce_correlationid", self.correlation_id),
            ("ce_causationid", self.causation_id),
            ("content-type", CONTENT_TYPE),
        ]
        return [(name, value.encode()) for name, value in pairs if value is not None]

    def body(self) -> bytes:
        if isinstance(self.data, bytes):
            return self.data
        return json.dumps(self.data, separators=(",", ":"), default=_json_default).encode()


def decode(
    headers: Iterable[tuple[str, bytes]], value: bytes | None, *, parse_data: bool = True
) -> Envelope:
    """Read a binary-mode record; raise :class:`EnvelopeError` saying what is wrong.

    ``parse_data=False`` leaves the body as bytes for an event model to parse and validate in one
    pass (a consumer's hot path: half the cost of a dict first); a body that is not a JSON object
    then fails that validation instead."""
    attributes: dict[str, str] = {}
    content_type = None
    for name, raw in headers or ():
        lowered = name.lower()
        try:
            text = raw.decode() if raw is not None else ""
        except UnicodeDecodeError as exc:
            raise EnvelopeError(f"header {name} is not UTF-8") from exc
        if lowered.startswith(CE_PREFIX):
            attributes[lowered[len(CE_PREFIX) :]] = text
        elif lowered == "content-type":
            content_type = text
    missing = [a for a in REQUIRED_ATTRIBUTES if not attributes.get(a)]
    if missing:
        raise EnvelopeError(
            f"missing CloudEvents header(s): {', '.join('ce_' + m for m in missing)}"
        )
    if attributes["specversion"] != SPEC_VERSION:
        raise EnvelopeError(f"unsupported ce_specversion {attributes['specversion']!r}")
    if content_type is not None and content_type.split(";")[0].strip() != CONTENT_TYPE:
        raise EnvelopeError(f"unsupported content-type {content_type!r}; expected {CONTENT_TYPE}")
    if value is None:
        raise EnvelopeError("record has no body")
    data: Mapping[str, Any] | bytes = value
    if parse_data:
        try:
            data = json.loads(value)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EnvelopeError(f"body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise EnvelopeError("body must be a JSON object")
    time_text = attributes.get("time")
    try:
        time = datetime.fromisoformat(time_text) if time_text else datetime.now(UTC)
    except ValueError as exc:
        raise EnvelopeError(f"ce_time {time_text!r} is not an RFC 3339 timestamp") from exc
    if time.tzinfo is None:
        raise EnvelopeError(f"ce_time {time_text!r} has no time zone")
    return Envelope(
        type=attributes["type"],
        source=attributes["source"],
        data=data,
        id=attributes["id"],
        time=time,
        subject=attributes.get("subject"),
        dataschema=attributes.get("dataschema"),
        correlation_id=attributes.get("correlationid"),
        causation_id=attributes.get("causationid"),
    )


def _format_time(moment: datetime) -> str:
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _format_time(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
