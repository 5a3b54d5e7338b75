"""Seed 000's manager in the browser: the plans of the teams they manage (another team's stay
out of sight and are refused), a submitted plan reviewed with its list as submitted, a
refused reopening told with the API's problem, then the plan reopened for its reps."""

from __future__ import annotations

import uuid

import pytest
from devstack.probes import eventually
from playwright.async_api import Page, expect

from tests.e2e.console_kit import OUTPUT, axe_violations, focused_text, sign_in_with_token
from tests.e2e.targeting_kit import in_list, make_plan, new_customer

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def test_a_manager_reviews_and_reopens_a_submitted_plan_of_their_team_only(
    platform, gateway, page: Page
) -> None:
    plan, other = await make_plan(gateway), await make_plan(gateway)
    plan_id, team, seg = plan["id"], plan["team"], plan["segmentation"]
    draft_id = f"{plan_id}-next"
    created = await gateway.post(
        "/api/plans",
        json={
            "id": draft_id,
            "team_id": team,
            "period": "2027-Q1",
            "segmentations": [seg],
            "targeted_segments": [{"segmentation": seg, "segment": "a"}],
        },
    )
    assert created.status_code == 201, created.text
    listed = await new_customer(gateway, "BN1", last_name=f"Listed{uuid.uuid4().hex[:4]}")
    saved = await gateway.put(
        f"/api/profiles/{listed['id']}/{seg}", json={"values": {"potential": "medium"}}
    )
    assert saved.status_code == 200, saved.text

    async def listed_in() -> bool:
        return await in_list(gateway, plan_id, listed["id"])

    await eventually(listed_in, what="the profiled customer in the list")
    rep = platform.auth(user="rep1", role="rep", teams=[team])
    submitted = await gateway.post(f"/api/plans/{plan_id}/submit", headers=rep)
    assert submitted.status_code == 200, submitted.text

    # The manager's team plans: their team's territory, reps, the submitted plan waiting for
    # review and the draft; nothing of the other team.
    await sign_in_with_token(page, platform, "boss", "manager", [team])
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Team plans").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Team plans")
    assert await focused_text(page) == "Team plans"
    section = page.get_by_role("region", name=f"Team North ({team})")
    await expect(section).to_contain_text("Territory: BN1, BN2 · Reps: rep1")
    waiting = section.get_by_role("table", name="Submitted plans of North")
    await expect(waiting.locator("tbody tr")).to_have_count(1)
    await expect(waiting).to_contain_text(plan_id)
    await expect(waiting).to_contain_text("rep1")
    drafts = section.get_by_role("table", name="Draft plans of North")
    await expect(drafts).to_contain_text(draft_id)
    await expect(page.get_by_role("main")).not_to_contain_text(other["team"])
    await expect(page.get_by_role("region")).to_have_count(1)
    await page.screenshot(path=OUTPUT / "team-plans.png", full_page=True)
    assert await axe_violations(page) == []

    # Review: the plan as submitted, by whom, with its list; the manager may reopen it.
    await waiting.get_by_role("link", name=plan_id).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Plan {plan_id}")
    assert await focused_text(page) == f"Plan {plan_id}"
    locked = page.get_by_role("status").filter(has_text="Submitted: read-only")
    await expect(locked).to_contain_text("by rep1 with 1 customers in the list")
    customers = page.get_by_role("table", name="Customer list")
    await expect(customers).to_contain_text(listed["mdm_code"])
    await expect(page.get_by_role("link", name="Add/Edit customer")).to_have_count(0)

    # Someone reopens it first: the API's refusal is shown, and closing reads the plan again.
    await page.get_by_role("button", name="Reopen plan").click()
    dialog = page.get_by_role("dialog", name=f"Reopen plan {plan_id}?")
    first = await gateway.post(f"/api/plans/{plan_id}/reopen")
    assert first.status_code == 200, first.text
    await dialog.get_by_role("button", name="Reopen", exact=True).click()
    refusal = dialog.get_by_role("alert")
    await expect(refusal).to_contain_text("Not reopened:")
    await expect(refusal).to_contain_text(f"plan {plan_id} is not submitted")
    assert await axe_violations(page) == []
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_role("button", name="Reopen plan")).to_have_count(0)
    await expect(page.get_by_role("link", name="Add/Edit customer")).to_be_visible()

    # Submitted again by the rep; this time the manager reopens it.
    again = await gateway.post(f"/api/plans/{plan_id}/submit", headers=rep)
    assert again.status_code == 200, again.text
    await page.reload()
    await expect(locked).to_be_visible()
    await page.get_by_role("button", name="Reopen plan").click()
    await dialog.get_by_role("button", name="Reopen", exact=True).click()
    await expect(dialog).to_have_count(0)
    await expect(locked).to_have_count(0)
    await expect(page.get_by_role("link", name="Add/Edit customer")).to_be_visible()
    await expect(page.get_by_role("main")).to_contain_text("by boss")
    await page.screenshot(path=OUTPUT / "plan-reopened.png", full_page=True)
    assert await axe_violations(page) == []

    # Back in the team plans the plan is a draft; the other team's plan is refused by URL.
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Team plans").click()
    await expect(section.get_by_role("table", name="Draft plans of North")).to_contain_text(plan_id)
    await expect(section.get_by_text("No submitted plan.")).to_be_visible()
    await page.goto(f"{platform.gateway_url}/plans/{other['id']}")
    await expect(page.get_by_role("alert")).to_contain_text("Not allowed")
