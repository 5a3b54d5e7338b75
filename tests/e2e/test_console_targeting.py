"""Seed 000 in the browser: a rep asks why a customer is not in the plan's list, adds them by
the add/edit flow (find by MDM code, change profile values and compute, review and save), finds
them in the list (filtered, exported), submits the plan, and the screens turn read-only."""

from __future__ import annotations

import uuid

import pytest
from devstack.probes import eventually
from playwright.async_api import Page, expect

from tests.e2e.console_kit import OUTPUT, axe_violations, focused_text, sign_in_with_token
from tests.e2e.targeting_kit import in_list, known_to_lists, make_plan, new_customer

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def test_why_not_then_add_edit_compute_save_then_submit(
    platform, gateway, page: Page
) -> None:
    plan = await make_plan(gateway)
    seg, plan_id = plan["segmentation"], plan["id"]
    # One customer already in the list (segment b), one in the territory but not profiled.
    listed = await new_customer(gateway, "BN1", last_name=f"Listed{uuid.uuid4().hex[:4]}")
    saved = await gateway.put(
        f"/api/profiles/{listed['id']}/{seg}", json={"values": {"potential": "medium"}}
    )
    assert saved.status_code == 200, saved.text
    missing = await new_customer(gateway, "BN2", last_name=f"Missing{uuid.uuid4().hex[:4]}")
    missing_name = f"Maria {missing['last_name']}"
    await known_to_lists(gateway, plan_id, missing["id"])

    async def listed_in() -> bool:
        return await in_list(gateway, plan_id, listed["id"])

    await eventually(listed_in, what="the profiled customer in the list")

    # A rep of the plan's team opens their plans, then the plan (focus on its heading).
    await sign_in_with_token(page, platform, "rep1", "rep", [plan["team"]])
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Plans").click()
    await page.get_by_role("link", name=plan_id).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Plan {plan_id}")
    assert await focused_text(page) == f"Plan {plan_id}"
    customers = page.get_by_role("table", name="Customer list")
    await expect(customers).to_contain_text(listed["mdm_code"])
    await expect(customers).not_to_contain_text(missing["mdm_code"])

    # Why is this customer not in my list? Each reason with its data.
    await page.get_by_role("textbox", name="MDM code").fill(missing["mdm_code"])
    await page.get_by_role("button", name="Explain").click()
    explanation = page.get_by_role("region", name="Explanation")
    await expect(explanation).to_contain_text(f"{missing_name}: not in the list")
    await expect(explanation).to_contain_text("Not profiled or segmented")
    await expect(explanation).to_contain_text(f"Segmentation {seg}: segment none")
    await expect(explanation).to_contain_text("Targeted segments: a, b")
    await page.screenshot(path=OUTPUT / "plan-list-explain.png", full_page=True)
    assert await axe_violations(page) == []

    # Add/edit: found by MDM code, values changed, segments and membership computed.
    await explanation.get_by_role("link", name="Add/Edit this customer").click()
    await expect(page.get_by_role("textbox", name="MDM code")).to_have_value(missing["mdm_code"])
    await page.get_by_role("button", name="Search").click()
    step = page.get_by_role("heading", name="2. Profile values and segments")
    await expect(step).to_be_focused()
    await page.get_by_label(f"{seg}: potential").select_option("high")
    await page.get_by_label(f"{seg}: adoption").select_option("early")
    await page.get_by_role("button", name="Compute segments").click()
    computed = page.get_by_role("region", name="Computed segments")
    segments = computed.get_by_role("table", name="Segments before and after")
    await expect(segments.locator("tbody tr")).to_have_text(f"{seg}nonea")
    await expect(computed).to_contain_text("List membership now: not in the list")
    await expect(computed).to_contain_text("List membership after: in the list")
    assert await axe_violations(page) == []
    await page.get_by_role("button", name="Next: review").click()
    await expect(page.get_by_role("heading", name="3. Review and save")).to_be_focused()
    await expect(page.get_by_role("list", name="Changes")).to_contain_text(
        f"{seg}: potential (no value) → high"
    )
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text(
        f"The list has taken the change: {missing_name} is in the list."
    )
    assert await axe_violations(page) == []

    # The customer is in the list; filtered by segment, alone; the export holds them.
    await page.get_by_role("link", name="Back to the plan's list").last.click()
    await expect(customers).to_contain_text(missing["mdm_code"])
    await page.get_by_label("Segment").select_option(f"{seg}/a")
    await expect(customers.locator("tbody tr")).to_have_count(1)
    await expect(customers).to_contain_text(missing_name)
    async with page.expect_download() as download:
        await page.get_by_role("button", name="Export CSV").click()
    exported = (await (await download.value).path()).read_text()
    assert missing["mdm_code"] in exported and listed["mdm_code"] not in exported

    # Submit: the list stays, the screens become read-only.
    await page.get_by_role("button", name="Submit plan").click()
    dialog = page.get_by_role("dialog", name=f"Submit plan {plan_id}?")
    await dialog.get_by_role("button", name="Submit", exact=True).click()
    await expect(page.get_by_role("status").filter(has_text="Submitted: read-only")).to_be_visible()
    await expect(page.get_by_role("button", name="Submit plan")).to_have_count(0)
    await expect(page.get_by_role("link", name="Add/Edit customer")).to_have_count(0)
    await expect(customers).to_contain_text(missing["mdm_code"])
    await page.get_by_role("textbox", name="MDM code").fill(listed["mdm_code"])
    await page.get_by_role("button", name="Explain").click()
    await expect(explanation).to_contain_text(": in the list")
    await expect(explanation.get_by_role("link", name="Add/Edit this customer")).to_have_count(0)
    assert await axe_violations(page) == []
    await page.goto(f"{platform.gateway_url}/plans/{plan_id}/add-edit")
    await expect(page.get_by_role("status").filter(has_text="Submitted: read-only")).to_be_visible()
    await expect(page.get_by_role("button", name="Search")).to_have_count(0)
