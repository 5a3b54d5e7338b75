"""Through the gateway: suppressions and traits (part of the record), and the interactions on a
customer's timeline: notes, cases, fulfilments, telemarketing responses, attachments."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest
from devstack.probes import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def new_customer(gateway: httpx.AsyncClient) -> str:
    response = await gateway.post(
        "/api/customers", json={"first_name": "Tudor", "last_name": "Ene", "sms": "+40 711 111 111"}
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_suppressions_are_part_of_the_record(gateway) -> None:
    path = f"/api/customers/{await new_customer(gateway)}"
    added = await gateway.post(f"{path}/suppressions", json={"type": "Do-Not-Mail"})
    assert added.status_code == 200, added.text
    body = added.json()
    assert body["version"] == 2 and added.headers["etag"] == '"2"'
    today = date.today().isoformat()
    assert body["suppressions"] == [{"type": "do-not-mail", "date": today, "reason": None}]

    again = await gateway.post(
        f"{path}/suppressions",
        json={"type": "do-not-mail", "date": "2026-01-05", "reason": "asked by phone"},
    )
    assert again.json()["suppressions"] == [
        {"type": "do-not-mail", "date": "2026-01-05", "reason": "asked by phone"}
    ]
    await gateway.post(f"{path}/suppressions", json={"type": "do-not-call"})
    listed = (await gateway.get(f"{path}/suppressions")).json()
    assert [s["type"] for s in listed] == ["do-not-call", "do-not-mail"]

    removed = await gateway.delete(f"{path}/suppressions/do-not-mail")
    assert [s["type"] for s in removed.json()["suppressions"]] == ["do-not-call"]
    assert (await gateway.delete(f"{path}/suppressions/do-not-mail")).status_code == 404
    bad = await gateway.post(f"{path}/suppressions", json={"type": "!!", "colour": "red"})
    assert bad.status_code == 422
    assert sorted(e["field"] for e in bad.json()["errors"]) == ["colour", "type"]

    async def history() -> list | None:
        items = (await gateway.get(f"{path}/history")).json()["items"]
        return items if len(items) == 5 else None

    newest = (await eventually(history, what="five history entries"))[0]
    assert newest["changes"][0]["field"] == "suppressions"


async def test_traits_come_from_the_catalogue_and_survive_mdm_updates(
    gateway, mdm, find_by_mdm_code
) -> None:
    trait = f"Speaker-{uuid.uuid4().hex[:6]}"
    created = await gateway.post("/api/traits", json={"name": trait, "description": "Talks"})
    assert created.status_code == 201
    assert (await gateway.post("/api/traits", json={"name": trait})).status_code == 409
    catalogue = (await gateway.get("/api/traits")).json()
    assert {"name": trait, "description": "Talks"} in catalogue

    code = f"TRAIT-{uuid.uuid4().hex[:8]}"
    await mdm.upsert(code, 1, first_name="Ilie", last_name="Voda")
    customer = await eventually(lambda: find_by_mdm_code(code), what="the MDM customer")
    path = f"/api/customers/{customer['id']}"

    unknown = await gateway.post(f"{path}/traits", json={"add": ["No-Such-Trait"]})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "traits"
    tagged = await gateway.post(f"{path}/traits", json={"add": [trait]})
    assert tagged.json()["traits"] == [trait]

    await mdm.upsert(code, 2, first_name="Ilie", last_name="Vodă")

    async def renamed() -> dict | None:
        found = await find_by_mdm_code(code)
        return found if found and found["last_name"] == "Vodă" else None

    assert (await eventually(renamed, what="the MDM update"))["traits"] == [trait]
    untagged = await gateway.post(f"{path}/traits", json={"remove": [trait]})
    assert untagged.json()["traits"] == []


async def test_notes_cases_fulfilments_and_responses_on_the_timeline(gateway) -> None:
    path = f"/api/customers/{await new_customer(gateway)}"

    note = await gateway.post(f"{path}/notes", json={"subject": "Call", "text": "Wants a visit"})
    assert note.status_code == 201, note.text
    note_id = note.json()["id"]
    edited = await gateway.patch(f"{path}/notes/{note_id}", json={"text": "Visit on Monday"})
    assert edited.json()["text"] == "Visit on Monday" and edited.json()["subject"] == "Call"
    assert edited.json()["version"] == 2

    case = await gateway.post(f"{path}/cases", json={"reason_code": "COMPLAINT"})
    assert case.status_code == 201
    assert case.json()["number"].startswith("C-") and case.json()["status"] == "open"
    resolved = await gateway.patch(
        f"{path}/cases/{case.json()['id']}",
        json={"status": "resolved", "resolved_at": "2000-01-01T00:00:00Z"},
    )
    assert resolved.status_code == 422 and resolved.json()["errors"][0]["field"] == "resolved_at"

    fulfilment = await gateway.post(
        f"{path}/fulfilments",
        json={"type": "Send Brochure", "date": "2026-01-02", "activity": "A1"},
    )
    assert fulfilment.status_code == 201
    missing = await gateway.post(f"{path}/fulfilments", json={"type": "X", "date": "2026-01-02"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "activity,reference_code"

    response = await gateway.post(
        f"{path}/responses", json={"telemarket": "Spring", "status": "done", "step": "2"}
    )
    assert response.status_code == 201
    unknown = await gateway.post(
        f"{path}/responses", json={"telemarket": "S", "status": "x", "y": 1}
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "y"

    timeline = (await gateway.get(f"{path}/timeline")).json()["items"]
    kinds = [item["kind"] for item in timeline]
    assert kinds == ["responses", "cases", "notes", "fulfilments"]  # newest first; Jan 2 is last
    only_notes = (await gateway.get(f"{path}/timeline", params={"kind": "notes"})).json()
    assert [i["id"] for i in only_notes["items"]] == [note_id]

    assert (await gateway.delete(f"{path}/notes/{note_id}")).status_code == 204
    assert (await gateway.get(f"{path}/notes/{note_id}")).status_code == 404
    assert (await gateway.get(f"/api/customers/{uuid.uuid4()}/notes")).status_code == 404


async def test_attachments_are_stored_and_served_with_limits(gateway) -> None:
    path = f"/api/customers/{await new_customer(gateway)}"
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40
    uploaded = await gateway.post(
        f"{path}/attachments", files={"file": ("consent form.pdf", pdf, "application/pdf")}
    )
    assert uploaded.status_code == 201, uploaded.text
    meta = uploaded.json()
    assert (meta["filename"], meta["size"], meta["content_type"]) == (
        "consent form.pdf",
        len(pdf),
        "application/pdf",
    )
    content = await gateway.get(f"{path}/attachments/{meta['id']}/content")
    assert content.content == pdf and content.headers["content-type"] == "application/pdf"
    assert "consent%20form.pdf" in content.headers["content-disposition"]

    too_big = await gateway.post(
        f"{path}/attachments",
        files={"file": ("big.pdf", b"0" * (5 * 1024 * 1024 + 1), "application/pdf")},
    )
    assert too_big.status_code == 413 and too_big.json()["field"] == "file"
    wrong_type = await gateway.post(
        f"{path}/attachments", files={"file": ("x.exe", b"MZ", "application/x-msdownload")}
    )
    assert wrong_type.status_code == 415
    assert (await gateway.post(f"{path}/attachments", json={"a": 1})).status_code == 422

    listed = (await gateway.get(f"{path}/attachments")).json()["items"]
    assert [a["id"] for a in listed] == [meta["id"]]

    # seed 003: a description with the file, then edited, and the file renamed
    described = await gateway.post(
        f"{path}/attachments",
        files={"file": ("scan.pdf", pdf, "application/pdf")},
        data={"description": "Signed consent, 2026"},
    )
    assert (
        described.status_code == 201 and described.json()["description"] == "Signed consent, 2026"
    )
    item = f"{path}/attachments/{described.json()['id']}"
    edited = await gateway.patch(item, json={"description": "Consent", "filename": "../c.pdf"})
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["description"], body["filename"], body["version"]) == ("Consent", "c.pdf", 2)
    assert (await gateway.get(f"{item}/content")).content == pdf  # the content stays
    refused = await gateway.patch(item, json={"description": "x\u202egpj.exe"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "description"
    assert (await gateway.patch(item, json={"size": 1})).status_code == 422
    assert (await gateway.delete(item)).status_code == 204
    assert (await gateway.delete(f"{path}/attachments/{meta['id']}")).status_code == 204
    assert (await gateway.get(f"{path}/attachments/{meta['id']}/content")).status_code == 404
