"""Integers past 64 bits (MongoDB's largest) are refused where they are read: a 4xx problem
naming the field, never a 500 from the database driver."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

pytestmark = [pytest.mark.servers, pytest.mark.e2e]

TOO_LARGE = 2**63


async def test_a_history_page_before_a_version_past_64_bits_is_invalid(
    gateway: httpx.AsyncClient,
) -> None:
    created = await gateway.post(
        "/api/customers", json={"last_name": "Large", "email": f"{uuid.uuid4().hex}@ex.org"}
    )
    customer = created.json()
    page = await gateway.get(
        f"/api/customers/{customer['id']}/history", params={"before_version": TOO_LARGE}
    )
    assert page.status_code == 422, page.text
    assert page.json()["errors"][0]["field"] == "before_version"


async def test_a_promotion_limit_past_64_bits_is_invalid(gateway: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    body = {
        "code": "L" + uuid.uuid4().hex[:8].upper(),
        "name": "large",
        "discount": {"kind": "percent", "value": "10"},
        "valid_from": now.isoformat(),
        "valid_to": (now + timedelta(days=30)).isoformat(),
        "total_limit": TOO_LARGE,
    }
    created = await gateway.post("/api/coupons", json=body)
    assert created.status_code == 422, created.text
    assert created.json()["errors"][0]["field"] == "total_limit"
