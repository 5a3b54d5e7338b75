"""The Customer 360 view: one page-sized answer assembled from the services.

The customer record is required (no record, no view); every other part is optional: a service
that is down or slow gives that part ``{"status": "unavailable"}``, never a 500.
"""

from __future__ import annotations

import asyncio
from typing import Any

from servicekit.auth import Identity
from servicekit.problems import Problem

from gateway import timeline
from gateway.timeline import TIMELINE_PAGE, merge_timelines
from gateway.upstream import Upstreams

AVAILABLE, UNAVAILABLE, ABSENT = "available", "unavailable", "absent"


async def _part(
    upstreams: Upstreams,
    service: str,
    path: str,
    identity: Identity,
    timeout: float,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    try:
        response = await upstreams.call(
            service, "GET", path, identity, params=params, timeout=timeout, catch_up=False
        )
    except Problem:
        return {"status": UNAVAILABLE, "service": service}
    if response.status_code == 404:
        return {"status": ABSENT}
    if response.status_code != 200:
        return {"status": UNAVAILABLE, "service": service, "http_status": response.status_code}
    return {"status": AVAILABLE, "data": response.json()}


async def customer_360(
    upstreams: Upstreams, customer_id: str, identity: Identity, part_timeout: float
) -> dict[str, Any]:
    """One call per service, all at once: the customer service's record and timeline, the
    loyalty service's member, purchases and coupons, the segments, and the lists."""
    customer_call = upstreams.call(
        "customer", "GET", f"/customers/{customer_id}/view", identity, timeout=part_timeout
    )
    parts = {
        "loyalty": ("loyalty", f"/members/{customer_id}/view"),
        "segments": ("segmentation", f"/profiles/{customer_id}"),
        "lists": ("lists", f"/customers/{customer_id}/lists"),
    }
    answer, loyalty, segments, lists = await asyncio.gather(
        customer_call,
        *(_part(upstreams, svc, path, identity, part_timeout) for svc, path in parts.values()),
    )
    if answer.status_code != 200:
        body = answer.json() if answer.content else {}
        raise Problem(
            body.get("detail", "the customer could not be read"),
            status=answer.status_code,
            code=body.get("type", "").rsplit("/", 1)[-1] or "customer-unavailable",
            title=body.get("title", "Customer unavailable"),
        )
    record = answer.json()
    loyalty_timeline = loyalty["data"].get("timeline", {}) if loyalty["status"] == AVAILABLE else {}
    return {
        "customer": record["customer"],
        "timeline": {
            "status": AVAILABLE,
            "data": merge_timelines(
                record["timeline"]["items"], loyalty_timeline.get("items", []), TIMELINE_PAGE
            ),
            "loyalty": "included" if loyalty["status"] == AVAILABLE else loyalty["status"],
        },
        **_split(
            loyalty,
            ("member", "loyalty"),
            ("purchases", "purchases"),
            ("coupons", "coupons"),
            ("communications", "communications"),
            ("referrals", "referrals"),
        ),
        "segments": segments,
        "lists": lists,
    }


async def timeline_page(
    upstreams: Upstreams,
    customer_id: str,
    identity: Identity,
    before: str | None,
    limit: int,
    part_timeout: float,
) -> dict[str, Any]:
    """One page of the 360 timeline (interactions and loyalty history, newest first)."""
    after = timeline.position(before) if before else None

    def params(source: str) -> dict[str, Any]:
        # one more than the page: a part that fills the page alone may have more
        return {"limit": limit + 1, **(after.part_params(source) if after else {})}

    interactions, loyalty = await asyncio.gather(
        _part(
            upstreams,
            "customer",
            f"/customers/{customer_id}/timeline",
            identity,
            part_timeout,
            params("customer"),
        ),
        _part(
            upstreams,
            "loyalty",
            f"/members/{customer_id}/timeline",
            identity,
            part_timeout,
            params("loyalty"),
        ),
    )
    if interactions["status"] == ABSENT:
        raise Problem(
            f"no customer with id {customer_id}",
            status=404,
            code="customer-not-found",
            title="Not found",
        )
    page = merge_timelines(
        interactions.get("data", {}).get("items", []),
        loyalty.get("data", {}).get("items", []),
        limit,
    )
    return {**page, "parts": {"customer": interactions["status"], "loyalty": loyalty["status"]}}


def _split(part: dict[str, Any], *names: tuple[str, str]) -> dict[str, dict[str, Any]]:
    """One service's answer as several parts of the view (each unavailable if it is)."""
    if part["status"] != AVAILABLE:
        return {view_name: part for _, view_name in names}
    return {view_name: {"status": AVAILABLE, "data": part["data"][key]} for key, view_name in names}
