"""A CSV import killed mid-file resumes from its checkpoint: no duplicate customer, no lost event.

The customer service imports in chunks of 5 rows with a crash point armed: it SIGKILLs itself
after the second chunk's writes, before that chunk's events are published. After a normal
restart the import goes on from the first chunk's checkpoint; the report counts every row once,
each new customer exists once, and every created or updated customer's event is on the topic.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from devstack.probes import eventually, header, read_topic
from servicekit.faults import JOB_AFTER_WRITE

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def test_a_killed_import_resumes_without_duplicates_or_lost_events(platform) -> None:
    family = f"Crash{uuid.uuid4().hex[:6]}"
    domain = f"{family.lower()}.example.org"
    async with httpx.AsyncClient(
        base_url=platform.url("customer"), headers=platform.auth(), timeout=10
    ) as direct:
        existing = {}
        for i in range(3):
            answer = await direct.post(
                "/customers",
                json={"first_name": f"Old{i}", "last_name": family, "email": f"e{i}@{domain}"},
            )
            assert answer.status_code == 201, answer.text
            existing[answer.json()["id"]] = f"e{i}@{domain}"
    lines = ["First,Last,Email,Street,City"]
    for i in range(11):
        lines.append(f"New{i},{family},n{i}@{domain},{i} Main St,Cluj")
        if i in (2, 6, 9):  # an existing customer (by email) gets an address
            k = (2, 6, 9).index(i)
            lines.append(f"Old{k},{family},e{k}@{domain},1 Long Rd,Iasi")
    text = "\n".join(lines) + "\n"
    mapping = {
        "First": "first_name",
        "Last": "last_name",
        "Email": "email",
        "Street": "address_line1",
        "City": "city",
    }

    process = platform.start(
        "customer", {"CDP_IMPORT_CHUNK": "5", "CDP_FAULT_CRASH_AT": f"{JOB_AFTER_WRITE}:2"}
    )
    try:
        async with httpx.AsyncClient(
            base_url=platform.url("customer"), headers=platform.auth(), timeout=10
        ) as direct:
            started = await direct.post(
                "/bulk/imports",
                files={"file": ("people.csv", text.encode(), "text/csv")},
                data={"mapping": json.dumps(mapping)},
            )
            assert started.status_code == 202, started.text
            job_id = started.json()["id"]
        assert process.popen is not None and process.popen.wait(30) == -9, "crashed mid-file"
    finally:
        platform.start("customer")  # a normal restart resumes the import

    async with httpx.AsyncClient(
        base_url=platform.gateway_url, headers=platform.auth(), timeout=10
    ) as gateway:

        async def finished() -> dict | None:
            job = (await gateway.get(f"/api/bulk/imports/{job_id}")).json()
            return job if job["status"] != "running" else None

        job = await eventually(finished, what="the resumed import to finish", timeout=30)
        assert job["status"] == "done", job
        assert not job["progress"]["errors"], job["progress"]["errors"][:3]
        counts = {k: job["progress"][k] for k in ("rows", "created", "updated", "rejected")}
        assert counts == {"rows": 14, "created": 11, "updated": 3, "rejected": 0}
        found = (
            await gateway.get("/api/customers", params={"last_name": family, "limit": 100})
        ).json()["items"]
        emails = sorted(c["email"] for c in found)
        assert emails == sorted([f"n{i}@{domain}" for i in range(11)] + list(existing.values()))
        ids = {c["id"] for c in found}

    def imported(records) -> dict[str, set[str]]:
        kinds: dict[str, set[str]] = {"registered": set(), "updated": set()}
        for record in records:
            if record.key.decode() not in ids:
                continue
            body = json.loads(record.value)
            if body.get("origin") != "import":
                continue
            kind = header(record, "ce_type").rsplit(".", 1)[-1]
            if kind == "CustomerRegistered":
                kinds["registered"].add(body["customer"]["email"])
            elif kind == "CustomerUpdated":
                kinds["updated"].add(body["customer"]["email"])
        return kinds

    def complete(records) -> bool:
        kinds = imported(records)
        return len(kinds["registered"]) == 11 and len(kinds["updated"]) == 3

    records = await read_topic(
        bootstrap_servers=platform.deployment.servers.kafka_bootstrap_servers,
        topic=platform.topic("customer.events"),
        timeout=20,
        until=complete,
    )
    kinds = imported(records)
    assert kinds["registered"] == {f"n{i}@{domain}" for i in range(11)}
    assert kinds["updated"] == set(existing.values())
