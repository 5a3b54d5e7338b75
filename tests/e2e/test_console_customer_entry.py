"""Seed 004 in the browser: a customer entered by hand is refused without an email address or
an SMS number (the API's problem shown at those fields), then accepted; an edit made against an
old version is refused as a conflict and the record can be reloaded."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, expect

from tests.e2e.console_kit import OUTPUT, axe_violations, focused_text, sign_in_with_token

pytestmark = [pytest.mark.e2e, pytest.mark.servers]

RULE = "a customer needs an email address or an SMS number"


async def test_refused_without_email_or_sms_then_accepted_then_edited(
    platform, gateway, page: Page
) -> None:
    last_name = f"Entry{uuid.uuid4().hex[:6]}"
    await sign_in_with_token(page, platform, "cara", "rep", ["north"])
    await (
        page.get_by_role("navigation", name="Main").get_by_role("link", name="New customer").click()
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text("New customer")
    assert await focused_text(page) == "New customer"

    await page.get_by_label("Salutation").fill("Ms.")
    await page.get_by_label("First name").fill("Irina")
    await page.get_by_label("Last name").fill(last_name)
    await page.get_by_role("button", name="Save").click()

    # Refused: the rule is shown at both fields, and the first of them takes the focus.
    email = page.get_by_role("textbox", name="Email address")
    sms = page.get_by_role("textbox", name="SMS number")
    await expect(email).to_have_attribute("aria-invalid", "true")
    await expect(email).to_have_accessible_description(re.compile(RULE))
    await expect(sms).to_have_attribute("aria-invalid", "true")
    await expect(email).to_be_focused()
    await page.screenshot(path=OUTPUT / "customer-entry-refused.png", full_page=True)
    assert await axe_violations(page) == []

    await sms.fill("+40 721 555 010")
    await page.get_by_label("Address 1").fill("3 Strada Noua")
    await page.get_by_label("City").fill("Cluj")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Irina {last_name}")
    await expect(page.get_by_text("+40 721 555 010")).to_be_visible()
    customer_id = page.url.rsplit("/", 1)[-1]

    # Edit at version 1 while someone else saves version 2: a conflict, then a reload.
    await page.get_by_role("link", name="Edit", exact=True).click()
    await expect(page.get_by_text("Editing version 1")).to_be_visible()
    other = await gateway.patch(
        f"/api/customers/{customer_id}",
        json={"fax": "+40 264 000 000"},
        headers={"if-match": '"1"'},
    )
    assert other.status_code == 200, other.text
    await page.get_by_label("Email address").fill("irina@example.org")
    await page.get_by_role("button", name="Save changes").click()
    conflict = page.get_by_role("alert").filter(has_text="Someone else changed this customer")
    await expect(conflict).to_be_visible()
    assert await axe_violations(page) == []
    await conflict.get_by_role("button", name="Reload the record").click()
    await expect(page.get_by_text("Editing version 2")).to_be_visible()
    await expect(page.get_by_label("Fax")).to_have_value("+40 264 000 000")
    await page.get_by_label("Email address").fill("irina@example.org")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Irina {last_name}")
    await expect(page.get_by_text("irina@example.org")).to_be_visible()
    await expect(page.get_by_text("Version 3")).to_be_visible()
    assert await axe_violations(page) == []
