"""CSV import through the gateway: mapping, a report per row, dedupe against existing customers
and within the file, and the all-or-nothing mode."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from devstack.probes import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.servers]

MAPPING = {
    "Given": "first_name",
    "Family": "last_name",
    "E-mail": "email",
    "Mobile": "sms",
    "Zip": "postal_code",
    "Town": "city",
    "Street": "address_line1",
}


async def run_import(
    gateway: httpx.AsyncClient, text: str, on_invalid: str = "skip", mapping: dict | None = None
) -> dict:
    started = await gateway.post(
        "/api/bulk/imports",
        files={"file": ("people.csv", text.encode(), "text/csv")},
        data={"mapping": json.dumps(mapping or MAPPING), "on_invalid": on_invalid},
    )
    assert started.status_code == 202, started.text
    assert started.headers["location"] == f"/api/bulk/imports/{started.json()['id']}"

    async def finished() -> dict | None:
        job = (await gateway.get(started.headers["location"])).json()
        return job if job["status"] != "running" else None

    return await eventually(finished, what="the import to finish", timeout=30)


async def test_import_creates_updates_matches_and_reports_bad_rows(gateway) -> None:
    family = f"Im{uuid.uuid4().hex[:6]}"
    existing = await gateway.post(
        "/api/customers",
        json={"first_name": "Old", "last_name": family, "email": f"old@{family}.example.org"},
    )
    existing_id = existing.json()["id"]
    text = (
        "Given,Family,E-mail,Mobile,Zip,Town,Street,Ignored\n"
        f"Nina,{family},nina@{family}.example.org,,400001,Cluj,Str. A 1,x\n"  # 2 created
        f"Olga,{family},old@{family.upper()}.example.org,,,,,\n"  # 3 matches by email: updated
        f"Olga,{family},old@{family}.example.org,,,,,\n"  # 4 matches, nothing new: matched
        f"Nobody,{family},,,,,,\n"  # 5 no email, no SMS: rejected
        f"Nina,{family},,,400001,Cluj,Str. A 1,\n"  # 6 name + postcode: the row-2 customer
        f"Pavel,{family},not-an-email,,,,,\n"  # 7 rejected
        f"Rita,{family},,+40 733 000 111,,,,\n"  # 8 created
    )
    job = await run_import(gateway, text)
    progress = job["progress"]
    assert job["status"] == "done"
    assert {k: progress[k] for k in ("rows", "created", "updated", "matched", "rejected")} == {
        "rows": 7,
        "created": 2,
        "updated": 1,
        "matched": 2,
        "rejected": 2,
    }
    assert [(e["row"], e["column"]) for e in progress["errors"]] == [(5, "email,sms"), (7, "email")]

    found = (
        await gateway.get("/api/customers", params={"last_name": family, "sort": "first_name"})
    ).json()
    assert [c["first_name"] for c in found["items"]] == ["Nina", "Olga", "Rita"]
    olga = next(c for c in found["items"] if c["first_name"] == "Olga")
    assert olga["id"] == existing_id
    (address,) = found["items"][0]["addresses"]
    assert (address["line1"], address["city"], address["postal_code"], address["primary"]) == (
        "Str. A 1",
        "Cluj",
        "400001",
        True,
    )

    async def imported_history() -> list | None:
        items = (await gateway.get(f"/api/customers/{existing_id}/history")).json()["items"]
        return items if len(items) == 2 else None

    newest = (await eventually(imported_history, what="the import's history entry"))[0]
    assert newest["origin"] == "import"

    again = await run_import(gateway, text)  # a rerun creates nothing new
    assert again["progress"]["created"] == 0 and again["progress"]["rejected"] == 2


async def test_address_columns_update_the_primary_address_field_by_field(gateway) -> None:
    """Seed 003: an update merges into the matched customer; the row's address columns change
    those fields of the primary address and leave the rest of it, and the other addresses, be."""
    family = f"Ad{uuid.uuid4().hex[:6]}"
    home = {
        "line1": "Str. Veche 1",
        "city": "Cluj",
        "state": "CJ",
        "country": "RO",
        "postal_code": "400001",
        "brick": "BR-CLJ-01",
        "primary": True,
    }
    work = {
        "line1": "Bd. Eroilor 9",
        "city": "Cluj",
        "country": "RO",
        "postal_code": "400129",
        "brick": "BR-CLJ-02",
        "primary": False,
    }
    created = await gateway.post(
        "/api/customers",
        json={
            "first_name": "Ana",
            "last_name": family,
            "email": f"ana@{family}.example.org",
            "addresses": [home, work],
        },
    )
    assert created.status_code == 201, created.text
    text = f"Given,Family,E-mail,Street\nAna,{family},ana@{family}.example.org,Str. Noua 2\n"

    mapping = {"Given": "first_name", "Family": "last_name", "E-mail": "email"}
    job = await run_import(gateway, text, mapping={**mapping, "Street": "address_line1"})

    assert job["progress"]["updated"] == 1
    stored = (await gateway.get(f"/api/customers/{created.json()['id']}")).json()
    addresses = [{k: v for k, v in a.items() if v is not None} for a in stored["addresses"]]
    assert addresses == [{**home, "line1": "Str. Noua 2"}, work]


async def test_abort_mode_imports_nothing_when_a_row_is_bad(gateway) -> None:
    family = f"Ab{uuid.uuid4().hex[:6]}"
    text = f"Given,Family,E-mail\nAna,{family},ana@example.org\nBad,{family},nope\n"
    mapping = {"Given": "first_name", "Family": "last_name", "E-mail": "email"}
    job = await run_import(gateway, text, on_invalid="abort", mapping=mapping)
    assert job["status"] == "rejected" and job["progress"]["rejected"] == 1
    found = (await gateway.get("/api/customers", params={"last_name": family})).json()
    assert found["items"] == []


async def test_a_bad_mapping_or_file_is_refused_up_front(gateway) -> None:
    bad_field = await gateway.post(
        "/api/bulk/imports",
        files={"file": ("p.csv", b"A,B\n1,2\n", "text/csv")},
        data={"mapping": json.dumps({"A": "shoe_size", "C": "email"})},
    )
    assert bad_field.status_code == 422
    assert [e["field"] for e in bad_field.json()["errors"]] == ["mapping.A", "mapping.C"]
    not_json = await gateway.post(
        "/api/bulk/imports", files={"file": ("p.csv", b"A\n1\n", "text/csv")}, data={"mapping": "{"}
    )
    assert not_json.status_code == 422 and not_json.json()["errors"][0]["field"] == "mapping"
    nothing_maps = await gateway.post(
        "/api/bulk/imports", files={"file": ("p.csv", b"Colour\nred\n", "text/csv")}
    )
    assert nothing_maps.status_code == 422
    unknown = await gateway.get(f"/api/bulk/imports/{uuid.uuid4()}")
    assert unknown.status_code == 404


async def test_an_import_job_is_read_by_its_creator_their_team_and_admins(platform) -> None:
    family = f"Iv{uuid.uuid4().hex[:6]}"
    ana = platform.auth(user="ana", role="rep", teams=["north"])
    async with httpx.AsyncClient(base_url=platform.gateway_url, headers=ana, timeout=10) as mine:
        text = "Given,Family,E-mail,Mobile,Zip,Town,Street\n" + f"Ana,{family},a@{family}.org,,,,\n"
        job = await run_import(mine, text)
    location = f"/api/bulk/imports/{job['id']}"
    for user, teams in (("ana", ["north"]), ("ion", ["north"]), ("root", None)):
        headers = platform.auth(user=user, role="admin" if user == "root" else "rep", teams=teams)
        async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=10) as client:
            assert (await client.get(location, headers=headers)).status_code == 200
    async with httpx.AsyncClient(base_url=platform.url("customer"), timeout=10) as direct:
        for headers in (
            platform.auth(user="eve", role="rep", teams=["south"]),
            platform.auth(user="meg", role="manager", teams=["south"]),
        ):
            answer = await direct.get(f"/bulk/imports/{job['id']}", headers=headers)
            assert answer.status_code == 404, answer.text


async def test_a_check_before_the_import_tells_the_mapping_and_each_bad_row(gateway) -> None:
    family = f"Ck{uuid.uuid4().hex[:6]}"
    text = (
        "Given,Family,E-mail,Mobile,Zip,Town,Street,Ignored\n"
        f"Nina,{family},nina@{family}.example.org,,400001,Cluj,Str. A 1,x\n"
        f"Nobody,{family},,,,,,\n"  # no email, no SMS
        f"Pavel,{family},not-an-email,,,,,\n"
    )
    mapping = {k: v for k, v in MAPPING.items() if k != "Zip"}
    checked = await gateway.post(
        "/api/bulk/import-checks",
        files={"file": ("people.csv", text.encode(), "text/csv")},
        data={"mapping": json.dumps(mapping)},
    )
    assert checked.status_code == 200, checked.text
    answer = checked.json()
    assert answer["columns"] == mapping and answer["unmapped"] == ["Zip", "Ignored"]
    assert {"email", "sms", "address_line1", "mdm_code"} <= set(answer["fields"])
    assert (answer["rows"], answer["valid"], answer["rejected"]) == (3, 1, 2)
    assert [(e["row"], e["column"]) for e in answer["errors"]] == [(3, "email,sms"), (4, "email")]

    # Headers that name a field map by themselves; a mapping naming no field is a 422.
    named = await gateway.post(
        "/api/bulk/import-checks",
        files={"file": ("p.csv", b"First Name,last_name,Notes\nAna,Pop,x\n", "text/csv")},
    )
    assert named.status_code == 200, named.text
    assert named.json()["columns"] == {"First Name": "first_name", "last_name": "last_name"}
    wrong = await gateway.post(
        "/api/bulk/import-checks",
        files={"file": ("p.csv", b"a\n1\n", "text/csv")},
        data={"mapping": json.dumps({"a": "shoe_size"})},
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "mapping.a"

    # Nothing was stored.
    found = await gateway.get("/api/customers", params={"last_name": family})
    assert found.json()["items"] == []
