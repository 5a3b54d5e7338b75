"""HTTP routes for what hangs off a customer: suppressions, traits, notes, cases, fulfilments,
telemarketing responses, attachments, and the timeline that merges them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from contracts.customers import Customer, Suppression
from contracts.text import safe_filename
from fastapi import APIRouter, Body, Depends, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field
from servicekit.auth import CurrentIdentity
from servicekit.problems import Conflict, Problem

from customer.api import Customers, answer
from customer.interactions import (
    ATTACHMENTS,
    KINDS,
    AttachmentEdit,
    InteractionService,
    Kind,
    TraitName,
    public,
)

router = APIRouter(tags=["interactions"])


def interaction_service(request: Request) -> InteractionService:
    return request.app.state.interactions


Interactions = Annotated[InteractionService, Depends(interaction_service)]
Limit = Annotated[int, Query(ge=1, le=500)]
Before = Annotated[datetime | None, Query(description="Only entries before this time")]
BeforeId = Annotated[
    str | None,
    Query(
        max_length=200,
        description="With before: the last item's id; the page goes on after that item (items "
        "at the same time with a greater id come too)",
    ),
]


class TraitChange(BaseModel):
    model_config = {"extra": "forbid"}

    add: list[TraitName] = Field(default_factory=list, max_length=100)
    remove: list[TraitName] = Field(default_factory=list, max_length=100)


class TraitEntry(BaseModel):
    model_config = {"extra": "forbid"}

    name: TraitName
    description: str | None = Field(default=None, max_length=500)


# --- suppressions and traits: part of the record (they change its version and publish events)


@router.get("/customers/{customer_id}/suppressions", response_model=list[Suppression])
async def suppressions(
    customer_id: str, customers: Customers, identity: CurrentIdentity
) -> list[Suppression]:
    return (await customers.get(customer_id)).suppressions


@router.post("/customers/{customer_id}/suppressions", response_model=Customer)
async def add_suppression(
    customer_id: str,
    body: Suppression,
    customers: Customers,
    identity: CurrentIdentity,
    response: Response,
) -> Customer:
    """Add a suppression (one per type: the same type again replaces its date and reason)."""
    return answer(await customers.add_suppression(customer_id, body, identity), response)


@router.delete("/customers/{customer_id}/suppressions/{suppression_type}", response_model=Customer)
async def remove_suppression(
    customer_id: str,
    suppression_type: str,
    customers: Customers,
    identity: CurrentIdentity,
    response: Response,
) -> Customer:
    customer = await customers.remove_suppression(
        customer_id, suppression_type.strip().lower(), identity
    )
    return answer(customer, response)


@router.get("/customers/{customer_id}/traits", response_model=list[str])
async def traits(customer_id: str, customers: Customers, identity: CurrentIdentity) -> list[str]:
    return (await customers.get(customer_id)).traits


@router.post("/customers/{customer_id}/traits", response_model=Customer)
async def change_traits(
    customer_id: str,
    body: TraitChange,
    customers: Customers,
    identity: CurrentIdentity,
    response: Response,
) -> Customer:
    """Add and remove traits in one change; added names must be in the catalogue (/traits)."""
    customer = await customers.change_traits(customer_id, body.add, body.remove, identity)
    return answer(customer, response)


@router.get("/traits", response_model=list[TraitEntry])
async def trait_catalogue(
    interactions: Interactions, identity: CurrentIdentity
) -> list[TraitEntry]:
    docs = await interactions.store.trait_catalogue()
    return [TraitEntry(name=d["_id"], description=d.get("description")) for d in docs]


@router.post("/traits", status_code=201, response_model=TraitEntry)
async def add_trait_name(
    body: TraitEntry, interactions: Interactions, identity: CurrentIdentity
) -> TraitEntry:
    if not await interactions.store.add_trait(body.name, body.description):
        raise Conflict(f"trait {body.name!r} is already in the catalogue", field="name")
    return body


# --- interactions: their own documents, on the timeline

FULFILMENT_CUSTOMERS_CAP = 100_000


@router.get("/fulfilments/customers")
async def customers_with_fulfilments(
    interactions: Interactions,
    identity: CurrentIdentity,
    activity: Annotated[str, Query(min_length=1, max_length=200)],
) -> dict[str, Any]:
    """The customers sent a fulfilment of this activity (case-insensitive), e.g. to build a
    static list from them."""
    ids = await interactions.store.customers_with_activity(
        "fulfilments", activity, FULFILMENT_CUSTOMERS_CAP
    )
    if len(ids) > FULFILMENT_CUSTOMERS_CAP:
        raise Problem(
            f"more than {FULFILMENT_CUSTOMERS_CAP} customers; narrow the activity",
            status=422,
            code="too-many-customers",
            field="activity",
        )
    return {"activity": activity, "customer_ids": ids}


@router.get("/customers/{customer_id}/view")
async def view_part(
    customer_id: str,
    customers: Customers,
    interactions: Interactions,
    identity: CurrentIdentity,
    limit: Limit = 20,
) -> dict[str, Any]:
    """The record and its latest interactions in one answer (the Customer 360's part)."""
    customer = await customers.get(customer_id)
    items = await interactions.list(customer_id, None, limit, None)
    return {"customer": customer.model_dump(mode="json"), "timeline": {"items": items}}


@router.get("/customers/{customer_id}/timeline")
async def timeline(
    customer_id: str,
    customers: Customers,
    interactions: Interactions,
    identity: CurrentIdentity,
    kind: Annotated[
        str | None, Query(pattern="^(notes|cases|fulfilments|responses|attachments)$")
    ] = None,
    limit: Limit = 100,
    before: Before = None,
    before_id: BeforeId = None,
) -> dict[str, Any]:
    """Every interaction, newest first (ties by id); page on with ``before=<the last item's
    at>&before_id=<its id>``."""
    await customers.get(customer_id)
    return {"items": await interactions.list(customer_id, kind, limit, before, before_id)}


def _kind_routes(kind: Kind) -> None:
    base = f"/customers/{{customer_id}}/{kind.name}"

    @router.get(base, name=f"list_{kind.name}")
    async def list_items(
        customer_id: str,
        customers: Customers,
        interactions: Interactions,
        identity: CurrentIdentity,
        limit: Limit = 100,
        before: Before = None,
        before_id: BeforeId = None,
    ) -> dict[str, Any]:
        await customers.get(customer_id)
        return {"items": await interactions.list(customer_id, kind.name, limit, before, before_id)}

    @router.post(base, status_code=201, name=f"create_{kind.name}", openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": kind.model.model_json_schema()}}}
    })  # fmt: skip
    async def create_item(
        customer_id: str,
        body: Annotated[dict[str, Any], Body()],
        customers: Customers,
        interactions: Interactions,
        identity: CurrentIdentity,
    ) -> dict[str, Any]:
        await customers.get(customer_id)
        return await interactions.create(customer_id, kind, body, identity)

    @router.get(f"{base}/{{item_id}}", name=f"get_{kind.name}")
    async def get_item(
        customer_id: str, item_id: str, interactions: Interactions, identity: CurrentIdentity
    ) -> dict[str, Any]:
        return public(await interactions.get(customer_id, kind.name, item_id))

    @router.patch(f"{base}/{{item_id}}", name=f"edit_{kind.name}")
    async def edit_item(
        customer_id: str,
        item_id: str,
        patch: Annotated[dict[str, Any], Body()],
        interactions: Interactions,
        identity: CurrentIdentity,
    ) -> dict[str, Any]:
        return await interactions.edit(customer_id, kind, item_id, patch, identity)

    @router.delete(f"{base}/{{item_id}}", status_code=204, name=f"delete_{kind.name}")
    async def delete_item(
        customer_id: str, item_id: str, interactions: Interactions, identity: CurrentIdentity
    ) -> Response:
        await interactions.delete(customer_id, kind.name, item_id)
        return Response(status_code=204)


for _kind in KINDS.values():
    _kind_routes(_kind)


# --- attachments


@router.post("/customers/{customer_id}/attachments", status_code=201)
async def upload(
    customer_id: str,
    file: Annotated[UploadFile, File(description="The file (multipart/form-data field 'file')")],
    customers: Customers,
    interactions: Interactions,
    identity: CurrentIdentity,
    description: Annotated[str | None, Form(description="What the file is")] = None,
) -> dict[str, Any]:
    await customers.get(customer_id)
    data = await file.read(interactions.attachment_max_bytes + 1)
    content_type = (file.content_type or "application/octet-stream").split(";")[0].strip()
    filename = safe_filename(file.filename)  # a base name: never a path the client chose
    return await interactions.attach(
        customer_id, filename, content_type, data, identity, description
    )


@router.patch("/customers/{customer_id}/attachments/{item_id}")
async def describe_attachment(
    customer_id: str,
    item_id: str,
    patch: Annotated[AttachmentEdit, Body()],
    interactions: Interactions,
    identity: CurrentIdentity,
) -> dict[str, Any]:
    """Change an attachment's description or file name (the content stays)."""
    return await interactions.describe(
        customer_id, item_id, patch.model_dump(exclude_unset=True), identity
    )


@router.get("/customers/{customer_id}/attachments")
async def attachments(
    customer_id: str,
    customers: Customers,
    interactions: Interactions,
    identity: CurrentIdentity,
    limit: Limit = 100,
    before: Before = None,
    before_id: BeforeId = None,
) -> dict[str, Any]:
    await customers.get(customer_id)
    return {"items": await interactions.list(customer_id, ATTACHMENTS, limit, before, before_id)}


@router.get("/customers/{customer_id}/attachments/{item_id}/content")
async def download(
    customer_id: str, item_id: str, interactions: Interactions, identity: CurrentIdentity
) -> Response:
    doc, data = await interactions.download(customer_id, item_id)
    disposition = f"attachment; filename*=UTF-8''{quote(doc['filename'])}"
    return Response(
        data, media_type=doc["content_type"], headers={"Content-Disposition": disposition}
    )


@router.delete("/customers/{customer_id}/attachments/{item_id}", status_code=204)
async def delete_attachment(
    customer_id: str, item_id: str, interactions: Interactions, identity: CurrentIdentity
) -> Response:
    await interactions.delete(customer_id, ATTACHMENTS, item_id)
    return Response(status_code=204)
