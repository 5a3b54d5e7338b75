"""Customer search through the gateway: criteria, keyset pages, and bad criteria."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def test_search_pages_through_matches_and_rejects_unknown_criteria(gateway) -> None:
    family = f"Qz{uuid.uuid4().hex[:6]}"
    for first, city in [("Ana", "Iași"), ("Bogdan", "Iasi"), ("Corina", "Arad")]:
        response = await gateway.post(
            "/api/customers",
            json={
                "first_name": first,
                "last_name": f"{family}escu",
                "email": f"{first.lower()}@{family.lower()}.example.org",
                "addresses": [{"line1": "Str. Mare 1", "city": city, "primary": True}],
            },
        )
        assert response.status_code == 201, response.text

    by_city = await gateway.get("/api/customers", params={"last_name": family, "city": "iasi"})
    assert sorted(c["first_name"] for c in by_city.json()["items"]) == ["Ana", "Bogdan"]

    quick = await gateway.get("/api/customers", params={"q": f"corina {family}"})
    assert [c["first_name"] for c in quick.json()["items"]] == ["Corina"]

    pages, cursor = [], None
    while True:
        params = {"last_name": family, "sort": "first_name", "order": "desc", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await gateway.get("/api/customers", params=params)).json()
        pages.append([c["first_name"] for c in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [["Corina", "Bogdan"], ["Ana"]]

    unknown = await gateway.get("/api/customers", params={"shoe_size": 42})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "shoe_size"
    bad_cursor = await gateway.get("/api/customers", params={"cursor": "xyz"})
    assert bad_cursor.status_code == 422 and bad_cursor.json()["errors"][0]["field"] == "cursor"
    too_many = await gateway.get("/api/customers", params={"limit": 10_000})
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "limit"


async def test_export_streams_every_match_as_csv_and_defuses_formulas(gateway) -> None:
    family = f"Xv{uuid.uuid4().hex[:6]}"
    for first, title in [("Dan", '=HYPERLINK("http://x")'), ("Eva", "Nurse")]:
        response = await gateway.post(
            "/api/customers",
            json={"first_name": first, "last_name": family, "email": f"{first}@example.org",
                  "job_title": title},
        )  # fmt: skip
        assert response.status_code == 201, response.text

    export = await gateway.get(
        "/api/customers/export.csv", params={"last_name": family, "sort": "first_name"}
    )
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["first_name"], r["last_name"]) for r in rows] == [("Dan", family), ("Eva", family)]
    assert rows[0]["job_title"] == '\'=HYPERLINK("http://x")'
    bad = await gateway.get("/api/customers/export.csv", params={"colour": "red"})
    assert bad.status_code == 422
