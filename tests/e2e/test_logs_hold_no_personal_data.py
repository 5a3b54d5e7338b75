"""The services' logs carry ids, never personal data, and every line is one JSON object naming
its service. A flow drives known names, emails and phone numbers through every path that logs
(HTTP requests with them in the query string, a validation error, a conflict, MDM events, a
poison MDM event dead-lettered, a CSV import with a rejected row, a customer erased); then none
of them is found in any service's log."""

from __future__ import annotations

import json
import random
import uuid

import httpx
import pytest
from devstack.probes import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


def _secrets() -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    digits = "".join(random.choice("0123456789") for _ in range(7))
    return {
        "first_name": f"Zsofiq{run}",
        "last_name": f"Vornbrecht{run}",
        "email": f"zq.{run}@example.org",
        "sms": f"+40 71{digits[0]} {digits[1:4]} {digits[4:]}",
        "digits": f"71{digits}",
        "mdm_name": f"Quillonby{run}",
        "mdm_email": f"quill.{run}@example.org",
        "import_name": f"Oxtravel{run}",
    }


async def test_no_name_email_or_phone_reaches_the_logs(platform, gateway, mdm) -> None:
    pii = _secrets()
    created = await gateway.post(
        "/api/customers",
        json={
            "first_name": pii["first_name"],
            "last_name": pii["last_name"],
            "email": pii["email"],
            "sms": pii["sms"],
        },
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    path = f"/api/customers/{customer['id']}"
    for params in ({"email": pii["email"]}, {"last_name": pii["last_name"]}, {"q": pii["sms"]}):
        assert (await gateway.get("/api/customers", params=params)).status_code == 200
    bad = await gateway.patch(
        path, json={"email": f"not-an-email {pii['email']}"}, headers={"If-Match": '"1"'}
    )
    assert bad.status_code == 422
    stale = await gateway.patch(
        path, json={"first_name": pii["mdm_name"]}, headers={"If-Match": '"9"'}
    )
    assert stale.status_code in (409, 412)

    code = f"PII-{uuid.uuid4().hex[:8]}"
    await mdm.upsert(code, 1, first_name=pii["mdm_name"], last_name="X", email=pii["mdm_email"])
    await mdm.upsert(code, -1, first_name=pii["mdm_name"], email=pii["mdm_email"])  # poison
    csv = (
        "first_name,last_name,email\n"
        f"{pii['import_name']},Row,{pii['import_name'].lower()}@example.org\n"
        f"{pii['import_name']},Bad,not-an-email-{pii['import_name']}\n"
    )
    mapping = {"first_name": "first_name", "last_name": "last_name", "email": "email"}
    imported = await gateway.post(
        "/api/bulk/imports",
        files={"file": ("people.csv", csv.encode(), "text/csv")},
        data={"mapping": json.dumps(mapping), "on_invalid": "skip"},
    )
    assert imported.status_code == 202, imported.text

    async def import_done() -> bool:
        job = (await gateway.get(imported.headers["location"])).json()
        return job["status"] != "running"

    await eventually(import_done, what="the import")

    async def mdm_applied() -> bool:
        found = await gateway.get("/api/customers", params={"mdm_code": code})
        return bool(found.json()["items"])

    await eventually(mdm_applied, what="the MDM customer")

    async def enrolled() -> bool:
        return (await gateway.get(f"{path}/360")).json()["loyalty"]["status"] == "available"

    await eventually(enrolled, what="enrollment before the erasure")
    erased = await gateway.delete(path)
    assert erased.status_code == 204, erased.text
    await eventually(
        lambda: _member_gone(platform, customer["id"]), what="loyalty to apply the erasure"
    )

    logs = {p.name: p.read_text(errors="replace") for p in platform.log_dir.glob("*.log")}
    assert set(logs) >= {"customer.log", "segmentation.log", "lists.log", "loyalty.log"}
    # the flow is in the logs, by its ids (else finding no names proves nothing)
    assert customer["id"] in logs["customer.log"]
    for name, text in logs.items():  # every line one JSON object naming its service
        for line in text.splitlines():
            assert json.loads(line)["service"] == name.removesuffix(".log"), (name, line)
    found = {
        (name, kind)
        for name, text in logs.items()
        for kind, value in pii.items()
        if value.lower() in text.lower()
    }
    assert found == set(), f"personal data in the logs: {sorted(found)}"


async def _member_gone(platform, customer_id: str) -> bool:
    """The erasure reached loyalty (the last consumer of the customer's events to log)."""
    async with httpx.AsyncClient(base_url=platform.url("loyalty"), headers=platform.auth()) as lo:
        return (await lo.get(f"/members/{customer_id}")).status_code == 404
