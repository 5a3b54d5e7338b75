"""Names are plain text: a control character (NUL, BEL, ...) or a bidirectional override
(U+202E, ...) in a name is refused with a 422 naming the field, on the gateway and on the
service's own port; an attachment's filename is reduced to a safe base name."""

from __future__ import annotations

import uuid

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.servers]

BAD = ["Ana\x00", "Ana\x07", "Ana\u202eadmin", "Ana\u2066x", "Ana\x1b[31m"]


def person(**fields: object) -> dict:
    return {"first_name": "Ana", "last_name": "Pop", "email": "ana@example.org", **fields}


async def test_names_with_control_characters_are_refused(platform, gateway) -> None:
    async with httpx.AsyncClient(
        base_url=platform.url("customer"), headers=platform.auth(), timeout=10
    ) as direct:
        for client, prefix in ((gateway, "/api"), (direct, "")):
            for bad in BAD:
                for field in ("first_name", "last_name", "middle_name", "organization"):
                    answer = await client.post(f"{prefix}/customers", json=person(**{field: bad}))
                    assert answer.status_code == 422, (field, bad, answer.text)
                    assert answer.json()["errors"][0]["field"] == field
                address = {"line1": "1 Main St", "city": bad}
                answer = await client.post(f"{prefix}/customers", json=person(addresses=[address]))
                assert answer.status_code == 422, answer.text
                assert answer.json()["errors"][0]["field"] == "addresses.0.city"
    created = await gateway.post("/api/customers", json=person(first_name="Ana María"))
    assert created.status_code == 201, created.text
    customer = created.json()
    patched = await gateway.patch(
        f"/api/customers/{customer['id']}",
        json={"last_name": "Pop\u202e"},
        headers={"if-match": f'"{customer["version"]}"'},
    )
    assert patched.status_code == 422 and patched.json()["errors"][0]["field"] == "last_name"

    run = uuid.uuid4().hex[:6]
    for path, body, field in (
        ("/api/lists", {"name": "List\x00"}, "name"),
        ("/api/teams", {"id": f"t-{run}", "name": "Team\u202e", "bricks": []}, "name"),
        ("/api/saved-searches", {"name": "Search\x07", "criteria": {}}, "name"),
    ):
        answer = await gateway.post(path, json=body)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["errors"][0]["field"] == field


async def test_an_attachment_filename_is_reduced_to_a_safe_base_name(gateway) -> None:
    created = await gateway.post("/api/customers", json=person())
    path = f"/api/customers/{created.json()['id']}/attachments"
    for sent, kept in (
        ("../../etc/x.txt", "x.txt"),
        ("..\\..\\windows\\x.txt", "x.txt"),
        ("a\u202eb\u2066.txt", "ab.txt"),  # (httpx sends NUL and the like %-encoded)
        ("..", "attachment"),
    ):
        uploaded = await gateway.post(path, files={"file": (sent, b"hello", "text/plain")})
        assert uploaded.status_code == 201, uploaded.text
        assert uploaded.json()["filename"] == kept, sent
        content = await gateway.get(f"{path}/{uploaded.json()['id']}/content")
        assert f"filename*=UTF-8''{kept}" in content.headers["content-disposition"]
