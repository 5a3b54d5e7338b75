"""Interactions on a customer's timeline (seed 003): notes, cases, fulfilments, telemarketing
responses and attachments, plus the trait catalogue.

Each kind is an input model (what a client sends; unknown fields are rejected) and a time that
places it on the timeline. They are stored in one ``interactions`` collection; attachment bytes
live in ``attachment_blobs`` (in the database, not on a local disk).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from contracts.text import PlainText, safe_filename
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError
from servicekit.auth import Identity
from servicekit.problems import Conflict, Invalid, NotFound, Problem

from customer.store import ACTIVITY_KEY, InteractionStore

Day = date  # for fields named "date", whose name would shadow the type in the class body

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
TraitName = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,49}$")
]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoteInput(Input):
    subject: Text | None = None
    text: LongText


class CaseInput(Input):
    status: Literal["open", "pending", "resolved", "closed"] = "open"
    reason_code: Text
    description: LongText | None = None
    account_id: Text | None = Field(default=None, description="The account the case concerns")
    logged_at: datetime | None = Field(default=None, description="Defaults to now")
    resolved_at: datetime | None = None

    @model_validator(mode="after")
    def _resolved_after_logged(self) -> CaseInput:
        if self.resolved_at and self.logged_at and self.resolved_at < self.logged_at:
            raise PydanticCustomError(
                "resolved_before_logged",
                "resolved_at is before logged_at",
                {"fields": ["resolved_at"]},
            )
        return self


class FulfilmentInput(Input):
    type: Text = Field(description="e.g. Send Brochure")
    date: Day
    activity: Text | None = None
    reference_code: Text | None = None

    @model_validator(mode="after")
    def _activity_or_code(self) -> FulfilmentInput:
        if not self.activity and not self.reference_code:
            raise PydanticCustomError(
                "activity_required",
                "a fulfilment needs an activity or a reference code",
                {"fields": ["activity", "reference_code"]},
            )
        return self


class ResponseInput(Input):
    telemarket: Text = Field(description="The telemarketing campaign")
    status: Text
    step: Text | None = None
    response_step: Text | None = None
    notes: LongText | None = None


@dataclass(frozen=True)
class Kind:
    name: str  # the path segment and the stored kind
    model: type[Input]
    time_field: str | None  # the input field that places it on the timeline (else created_at)


KINDS = {
    k.name: k
    for k in (
        Kind("notes", NoteInput, None),
        Kind("cases", CaseInput, "logged_at"),
        Kind("fulfilments", FulfilmentInput, "date"),
        Kind("responses", ResponseInput, None),
    )
}
ATTACHMENTS = "attachments"
INTERNAL = ("customer_id", "kind", ACTIVITY_KEY)


def _validated(model: type[Input], data: dict[str, Any]) -> dict[str, Any]:
    try:
        return model.model_validate(data).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        raise Invalid.from_errors(list(exc.errors())) from exc


def _at(kind: Kind, fields: dict[str, Any], created_at: datetime) -> datetime:
    value = fields.get(kind.time_field) if kind.time_field else None
    if value is None:
        return created_at
    at = datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class AttachmentEdit(Input):
    """What a user may change on an attachment."""

    description: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), PlainText] | None
    ) = None
    filename: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored interaction as the API shows it."""
    shown = {k: v for k, v in doc.items() if k not in INTERNAL and k != "_id"}
    return {"id": doc["_id"], "kind": doc["kind"], **shown}


@dataclass
class InteractionService:
    store: InteractionStore
    attachment_max_bytes: int
    attachment_types: frozenset[str]

    async def create(
        self, customer_id: str, kind: Kind, data: dict[str, Any], identity: Identity
    ) -> dict[str, Any]:
        fields = _validated(kind.model, data)
        now = datetime.now(UTC)
        if kind.name == "cases":
            fields.setdefault("logged_at", now.isoformat())
            fields["number"] = f"C-{await self.store.next_number('case'):06d}"
        doc = {
            "_id": str(uuid.uuid4()),
            "customer_id": customer_id,
            "kind": kind.name,
            **fields,
            "at": _at(kind, fields, now),
            "created_at": now,
            "created_by": f"user:{identity.user}",
            "version": 1,
        }
        await self.store.insert(doc)
        return public(doc)

    async def get(self, customer_id: str, kind: str, item_id: str) -> dict[str, Any]:
        doc = await self.store.get(customer_id, kind, item_id)
        if doc is None:
            raise NotFound(f"no {kind} {item_id} on customer {customer_id}", code="not-found")
        return doc

    async def edit(
        self, customer_id: str, kind: Kind, item_id: str, patch: dict[str, Any], identity: Identity
    ) -> dict[str, Any]:
        doc = await self.get(customer_id, kind.name, item_id)
        current = {k: doc[k] for k in kind.model.model_fields if k in doc}
        fields = _validated(kind.model, {**current, **patch})
        removed = set(current) - set(fields)
        now = datetime.now(UTC)
        updated = {
            **fields,
            "at": _at(kind, fields, doc["created_at"]),
            "updated_at": now,
            "updated_by": f"user:{identity.user}",
            "version": doc["version"] + 1,
        }
        if not await self.store.update(doc, updated, removed):
            raise Conflict(
                f"{kind.name} {item_id} changed meanwhile: retry", code="version-conflict"
            )
        return public({**{k: v for k, v in doc.items() if k not in removed}, **updated})

    async def delete(self, customer_id: str, kind: str, item_id: str) -> None:
        if not await self.store.delete(customer_id, kind, item_id):
            raise NotFound(f"no {kind} {item_id} on customer {customer_id}", code="not-found")

    async def list(
        self,
        customer_id: str,
        kind: str | None,
        limit: int,
        before: datetime | None,
        before_id: str | None = None,
    ):
        docs = await self.store.list(customer_id, kind, limit, before, before_id)
        return [public(d) for d in docs]

    async def attach(
        self,
        customer_id: str,
        filename: str,
        content_type: str,
        data: bytes,
        identity: Identity,
        description: str | None = None,
    ) -> dict[str, Any]:
        if len(data) > self.attachment_max_bytes:
            raise Problem(
                f"the file has {len(data)} bytes; at most {self.attachment_max_bytes} are allowed",
                status=413,
                code="attachment-too-large",
                title="Attachment too large",
                field="file",
            )
        if content_type not in self.attachment_types:
            raise Problem(
                f"files of type {content_type!r} are not accepted; accepted: "
                + ", ".join(sorted(self.attachment_types)),
                status=415,
                code="attachment-type",
                title="Unsupported attachment type",
                field="file",
            )
        if not data:
            raise Invalid.from_errors(
                [{"loc": ("file",), "msg": "the file is empty", "type": "empty"}]
            )
        now = datetime.now(UTC)
        doc = {
            "_id": str(uuid.uuid4()),
            "customer_id": customer_id,
            "kind": ATTACHMENTS,
            "filename": filename,
            "content_type": content_type,
            "size": len(data),
            **_validated(AttachmentEdit, {"description": description}),
            "at": now,
            "created_at": now,
            "created_by": f"user:{identity.user}",
            "version": 1,
        }
        await self.store.insert_attachment(doc, data)
        return public(doc)

    async def describe(
        self, customer_id: str, item_id: str, patch: dict[str, Any], identity: Identity
    ) -> dict[str, Any]:
        """Seed 003: an attachment's description and file name are edited; its content is not."""
        doc = await self.get(customer_id, ATTACHMENTS, item_id)
        current = {k: doc[k] for k in AttachmentEdit.model_fields if k in doc}
        merged = {**current, **patch}
        if "filename" in patch:
            merged["filename"] = safe_filename(patch["filename"])
        fields = _validated(AttachmentEdit, merged)
        fields.setdefault("filename", doc["filename"])
        removed = set(current) - set(fields)
        updated = {
            **fields,
            "updated_at": datetime.now(UTC),
            "updated_by": f"user:{identity.user}",
            "version": doc["version"] + 1,
        }
        if not await self.store.update(doc, updated, removed):
            raise Conflict(
                f"attachment {item_id} changed meanwhile: retry", code="version-conflict"
            )
        return public({**{k: v for k, v in doc.items() if k not in removed}, **updated})

    async def download(self, customer_id: str, item_id: str) -> tuple[dict[str, Any], bytes]:
        doc = await self.get(customer_id, ATTACHMENTS, item_id)
        data = await self.store.blob(item_id)
        if data is None:
            raise NotFound(f"attachment {item_id} has no content", code="not-found")
        return doc, data


def check_trait_names(names: list[str], known: set[str]) -> None:
    unknown = sorted(set(names) - known)
    if unknown:
        raise Invalid.from_errors(
            [
                {
                    "loc": ("traits",),
                    "msg": f"not in the trait catalogue: {', '.join(unknown)}",
                    "type": "unknown_trait",
                }
            ]
        )
