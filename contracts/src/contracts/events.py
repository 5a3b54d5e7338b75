"""The base of every event model, and how a model names itself on the wire."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

from contracts.envelope import Envelope

SCHEMA_URN = "urn:cdp:schema:"


class Event(BaseModel):
    """A past-tense fact. Subclasses set ``TYPE`` (stable) and ``VERSION`` (bumped on a breaking
    change; additive changes keep it). Unknown fields are ignored so producers can add fields
    without a lockstep deploy."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1

    @classmethod
    def dataschema(cls) -> str:
        return f"{SCHEMA_URN}{cls.TYPE}:{cls.VERSION}"

    def envelope(
        self,
        *,
        source: str,
        subject: str | None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        **attributes: Any,
    ) -> Envelope:
        return Envelope(
            type=self.TYPE,
            source=source,
            data=self.model_dump_json(exclude_none=True).encode(),
            subject=subject,
            dataschema=self.dataschema(),
            correlation_id=correlation_id,
            causation_id=causation_id,
            **attributes,
        )

    @classmethod
    def from_envelope(cls, envelope: Envelope) -> Self:
        if isinstance(envelope.data, bytes):
            return cls.model_validate_json(envelope.data)
        return cls.model_validate(envelope.data)
