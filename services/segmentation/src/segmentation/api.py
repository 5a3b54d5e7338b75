"""The segmentation service's HTTP API: segmentations, recomputes, and customer profiles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from servicekit.auth import CurrentIdentity, require_role
from servicekit.problems import if_match_version

from segmentation.domain.segmentations import Code, ProfileValue, SegmentationDefinition
from segmentation.handlers import SegmentationService, view

segmentations = APIRouter(prefix="/segmentations", tags=["segmentations"])
profiles = APIRouter(prefix="/profiles", tags=["profiles"])


def service(request: Request) -> SegmentationService:
    return request.app.state.segmentation


Segmentation = Annotated[SegmentationService, Depends(service)]


def shown(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        **doc["definition"],
        "version": doc["version"],
        "changed_by": doc.get("changed_by"),
        "changed_at": doc.get("changed_at"),
    }


@segmentations.post("", status_code=201)
async def define(
    body: SegmentationDefinition,
    segmentation: Segmentation,
    identity: CurrentIdentity,
    response: Response,
) -> dict[str, Any]:
    """Create a segmentation; every known customer is assessed by a recompute job."""
    require_role(identity, "manager", "admin")
    doc, job = await segmentation.define(body, identity)
    response.headers["Location"] = f"/segmentations/{body.code}"
    response.headers["ETag"] = f'"{doc["version"]}"'
    return {"segmentation": shown(doc), "recompute": job}


@segmentations.get("")
async def list_segmentations(
    segmentation: Segmentation, identity: CurrentIdentity
) -> list[dict[str, Any]]:
    return [shown(doc) for doc in await segmentation.store.all_segmentations()]


@segmentations.post("/preview")
async def preview(
    body: SegmentationDefinition, segmentation: Segmentation, identity: CurrentIdentity
) -> dict[str, Any]:
    """How many customers each segment of a proposed definition would hold; nothing saved."""
    return {"code": body.code, "counts": await segmentation.preview(body)}


@segmentations.get("/{code}")
async def get_segmentation(
    code: str, segmentation: Segmentation, identity: CurrentIdentity, response: Response
) -> dict[str, Any]:
    doc = await segmentation.segmentation(code)
    response.headers["ETag"] = f'"{doc["version"]}"'
    return shown(doc)


@segmentations.put("/{code}")
async def redefine(
    code: str,
    body: SegmentationDefinition,
    segmentation: Segmentation,
    identity: CurrentIdentity,
    response: Response,
    if_match: Annotated[str | None, Header(alias="if-match")] = None,
) -> dict[str, Any]:
    """Change dimensions or rules: a new rule version, and a recompute of every customer."""
    require_role(identity, "manager", "admin")
    doc, job = await segmentation.redefine(code, body, if_match_version(if_match), identity)
    response.headers["ETag"] = f'"{doc["version"]}"'
    return {"segmentation": shown(doc), "recompute": job}


@segmentations.get("/{code}/recomputes/{job_id}")
async def recompute_progress(
    code: str, job_id: str, segmentation: Segmentation, identity: CurrentIdentity
) -> dict[str, Any]:
    return await segmentation.recompute_job(code, job_id)


class ProfileValues(BaseModel):
    model_config = ConfigDict(extra="forbid")

    values: dict[Code, ProfileValue] = Field(
        description="Dimension -> profile value; replaces the customer's values in the "
        "segmentation",
        examples=[{"potential": "high", "adoption": "early"}],
    )


class ProfileRow(ProfileValues):
    customer_id: str
    segmentation: Code


class ProfileRows(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[ProfileRow], Field(min_length=1, max_length=10_000)]


@profiles.get("/{customer_id}")
async def get_profiles(
    customer_id: str, segmentation: Segmentation, identity: CurrentIdentity
) -> dict[str, Any]:
    """The customer's profile values and segment in every segmentation."""
    return view(await segmentation.customer(customer_id))


@profiles.put("/{customer_id}/{code}")
async def set_profile(
    customer_id: str,
    code: str,
    body: ProfileValues,
    segmentation: Segmentation,
    identity: CurrentIdentity,
) -> dict[str, Any]:
    """Save profile values; segments are recomputed and published."""
    return await segmentation.set_profile(customer_id, code, body.values, identity)


@profiles.post("/{customer_id}/{code}/compute")
async def compute(
    customer_id: str,
    code: str,
    body: ProfileValues,
    segmentation: Segmentation,
    identity: CurrentIdentity,
) -> dict[str, Any]:
    """The segment the proposed values give, beside the current one; nothing is saved."""
    return await segmentation.compute(customer_id, code, body.values)


@profiles.post("/bulk")
async def set_profiles(
    body: ProfileRows, segmentation: Segmentation, identity: CurrentIdentity
) -> dict[str, Any]:
    """Profile values for many customers; a report per row (good rows are saved)."""
    report = await segmentation.set_profiles(
        [(row.customer_id, row.segmentation, row.values) for row in body.items], identity
    )
    failed = sum(1 for row in report if "error" in row)
    return {"saved": len(report) - failed, "rejected": failed, "rows": report}
