"""Seed 003's CSV import in the browser: an empty file refused at the file input, the columns
mapped (the API proposes what the headers name, the rest chosen by hand, a field chosen twice
refused), every row checked before anything is stored, then the import run with its progress
and the report of the refused rows."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import Page, expect

from tests.e2e.console_kit import OUTPUT, axe_violations, focused_text, sign_in_with_token

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def test_import_wizard_checks_maps_runs_and_reports(platform, gateway, page: Page) -> None:
    family = f"Wz{uuid.uuid4().hex[:6]}"
    mobile = f"+40 7{uuid.uuid4().int % 10**8:08d}"  # SMS numbers dedupe: one of its own
    text = (
        "first_name,Family,Email,Mobile,Notes\n"
        f"Nina,{family},nina@{family}.example.org,,x\n"
        f"Nobody,{family},,,\n"  # row 3: no email, no SMS
        f"Rita,{family},,{mobile},\n"
        f"Pavel,{family},not-an-email,,\n"  # row 5: a bad email
    )
    await sign_in_with_token(page, platform, "clerk", "rep", ["north"])
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Import customers")
    assert await focused_text(page) == "Import customers"

    # An empty file: the API's problem at the file input.
    file_input = page.get_by_label("CSV file")
    await file_input.set_input_files(
        files=[{"name": "empty.csv", "mimeType": "text/csv", "buffer": b""}]
    )
    await expect(file_input).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_text("the file is empty")).to_be_visible()

    # The file: the API maps what the headers name, and checks the rows with that mapping.
    await file_input.set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": text.encode()}]
    )
    await expect(page.get_by_role("heading", name="2. Columns and check")).to_be_focused()
    await expect(page.get_by_label("Field for column first_name")).to_have_value("first_name")
    await expect(page.get_by_label("Field for column Email")).to_have_value("email")
    await expect(page.get_by_label("Field for column Family")).to_have_value("")
    check = page.get_by_role("region", name="Rows checked")
    await expect(check).to_contain_text("4 rows: 1 ready to import, 3 with errors.")

    # The rest mapped by hand; a field chosen twice is refused at the column.
    await page.get_by_label("Field for column Family").select_option("last_name")
    await page.get_by_label("Field for column Mobile").select_option("sms")
    notes = page.get_by_label("Field for column Notes")
    await notes.select_option("email")
    await expect(notes).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_role("button", name="Check the rows again")).to_be_disabled()
    await notes.select_option("")
    await page.get_by_role("button", name="Check the rows again").click()
    await expect(check).to_contain_text("4 rows: 2 ready to import, 2 with errors.")
    await expect(check).to_contain_text("Not imported: Notes.")
    bad = check.get_by_role("table", name="Rows with errors")
    await expect(bad.locator("tbody tr")).to_have_count(2)
    await expect(bad.locator("tbody tr").first).to_contain_text("3email,sms")
    await expect(bad.locator("tbody tr").last).to_contain_text("5email")
    assert await axe_violations(page) == []
    stored = await gateway.get("/api/customers", params={"last_name": family})
    assert stored.json()["items"] == []  # a check stores nothing

    # The import: good rows in, bad rows reported.
    await expect(page.get_by_label("Import the good rows and report the bad ones")).to_be_checked()
    await page.get_by_role("button", name="Import 4 rows").click()
    await expect(page.get_by_role("heading", name="Result")).to_be_focused(timeout=30_000)
    result = page.get_by_role("region", name="Result", exact=True)
    await expect(result).to_contain_text(
        "Imported. 4 rows: 2 created, 0 updated, 0 matched existing customers, 2 refused."
    )
    await expect(
        result.get_by_role("table", name="Refused rows").locator("tbody tr")
    ).to_have_count(2)
    await expect(page.get_by_role("progressbar", name="Import progress")).to_have_attribute(
        "aria-valuenow", "100"
    )
    await page.evaluate("window.scrollTo(0, 0)")  # the fixed header stays at the top of the shot
    await page.screenshot(path=OUTPUT / "customer-import.png", full_page=True)
    assert await axe_violations(page) == []
    found = await gateway.get("/api/customers", params={"last_name": family, "sort": "first_name"})
    assert [c["first_name"] for c in found.json()["items"]] == ["Nina", "Rita"]
