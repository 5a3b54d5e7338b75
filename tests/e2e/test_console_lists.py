"""Seeds 002 and 003 in the browser: a rep sees their team's groups with their saved searches,
makes a static list from a search (a criterion the search refuses shown at its field; a count
that changed before the list was made said so), sees its members with the suppressed ones left
out and why, exports it, and fills a group from its saved search."""

from __future__ import annotations

import csv
import io
import uuid

import httpx
import pytest
from devstack.probes import eventually
from playwright.async_api import Page, expect

from tests.e2e.console_kit import OUTPUT, axe_violations, focused_text, sign_in_with_token
from tests.e2e.test_static_lists import customers, known

pytestmark = [pytest.mark.e2e, pytest.mark.servers]


async def shared_search(gateway: httpx.AsyncClient, name: str, family: str, team: str) -> dict:
    async def saved() -> httpx.Response | None:
        answer = await gateway.post(
            "/api/saved-searches",
            json={"name": name, "criteria": {"last_name": family}, "teams": [team]},
        )
        return answer if answer.status_code != 422 else None  # until it knows the team

    answer = await eventually(saved, what="the customer service to know the team")
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_a_static_list_from_a_search_and_a_group_from_its_saved_search(
    platform, gateway, page: Page
) -> None:
    run = uuid.uuid4().hex[:6]
    family, team = f"Li{run}", f"west-{run}"
    made = await gateway.post("/api/teams", json={"id": team, "name": "West", "bricks": []})
    assert made.status_code == 201, made.text
    people = await customers(gateway, family, 3)
    suppressed = people[0]
    response = await gateway.post(
        f"/api/customers/{suppressed['id']}/suppressions", json={"type": "do-not-mail"}
    )
    assert response.status_code in (200, 201), response.text
    await known(gateway, people)
    search = await shared_search(gateway, f"Family {family}", family, team)
    group = await gateway.post(
        "/api/lists",
        json={
            "name": f"Group {family}",
            "kind": "group",
            "usage": "email",
            "owners": {"teams": [team]},
            "saved_search_id": search["id"],
        },
    )
    assert group.status_code == 201, group.text

    # The rep's lists and groups: the team's group with its saved search.
    await sign_in_with_token(page, platform, "clerk", "rep", [team])
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Lists").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Lists and groups")
    assert await focused_text(page) == "Lists and groups"
    groups = page.get_by_role("table", name="Groups")
    row = groups.locator("tbody tr").filter(has_text=f"Group {family}")
    await expect(row).to_contain_text(f"Family {family}")
    await expect(row).to_contain_text(f"teams {team}")
    assert await axe_violations(page) == []

    # A static list from a search: a phone without digits is refused at the Phone field.
    await page.get_by_role("link", name="New list from a search").click()
    await expect(page.get_by_role("heading", level=1)).to_be_focused()
    name = f"Mailing {family}"
    await page.get_by_role("textbox", name="Name", exact=True).fill(name)
    await page.get_by_label("Usage").select_option("mail")
    await page.get_by_label("Leave out customers with these suppressions").fill("Do-Not-Mail")
    await page.get_by_label("Phone").fill("no digits")
    await page.get_by_role("button", name="Count customers").click()
    phone = page.get_by_role("textbox", name="Phone")
    await expect(phone).to_have_attribute("aria-invalid", "true")
    await expect(phone).to_be_focused()
    assert await axe_violations(page) == []
    await phone.fill("")
    await page.get_by_role("textbox", name="Last name").fill(family)
    await page.get_by_role("button", name="Count customers").click()
    counted = page.get_by_role("status").filter(has_text="customers match these criteria")
    await expect(counted).to_have_text("3 customers match these criteria.")
    await expect(counted).to_be_focused()

    # Another customer matches before the list is made: the count is told again.
    answer = await gateway.post(
        "/api/customers",
        json={
            "first_name": "Late",
            "last_name": family,
            "email": f"late-{run}@example.org",
            "mdm_code": f"{family}-late",
        },
    )
    assert answer.status_code == 201, answer.text
    late = answer.json()
    await known(gateway, [late])
    await page.get_by_role("button", name="Create the list of 3 customers").click()
    await expect(counted).to_have_text("4 customers match these criteria.")
    await expect(page.get_by_role("region", name="Count")).to_contain_text(
        "The search finds 4 customers now, not 3"
    )
    await page.get_by_role("button", name="Create the list of 4 customers").click()

    # The list: how it is used now, the suppressed customer left out and why.
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"List {name}")
    assert await focused_text(page) == f"List {name}"
    used = page.get_by_role("region", name="Used now")
    await expect(used).to_contain_text("4 customers on the list: 3 used, 1 left out.")
    await expect(used.get_by_role("list", name="Left out, by reason")).to_have_text("Suppressed: 1")
    members = page.get_by_role("table", name="Customers on the list")
    await expect(members.locator("tbody tr")).to_have_count(3)
    await expect(members).not_to_contain_text(suppressed["mdm_code"])
    await page.get_by_label("Show the customers left out too").check()
    await expect(members.locator("tbody tr")).to_have_count(4)
    out = members.locator("tbody tr").filter(has_text=suppressed["mdm_code"])
    await expect(out).to_contain_text("left out")
    await expect(out).to_contain_text("Suppressed: do-not-mail")
    await page.screenshot(path=OUTPUT / "static-list.png", full_page=True)
    assert await axe_violations(page) == []
    async with page.expect_download() as download:
        await page.get_by_role("button", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO((await (await download.value).path()).read_text())))
    exported = {r["mdm_code"] for r in rows}
    assert exported == {p["mdm_code"] for p in [*people[1:], late]}

    # The group takes in its saved search's matches.
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Lists").click()
    await expect(page.get_by_role("table", name="Static lists")).to_contain_text(name)
    await groups.get_by_role("link", name=f"Group {family}").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Group Group {family}")
    section = page.get_by_role("region", name="Saved search")
    await expect(section).to_contain_text(f"Family {family}: last name {family}")
    await expect(used).to_contain_text("0 customers on the list")
    await section.get_by_role("button", name="Add customers who match the saved search").click()
    await expect(section.get_by_role("status")).to_have_text(
        "4 matched: 4 added, 0 already in the group."
    )
    await expect(used).to_contain_text("4 customers on the list: 4 used, 0 left out.")
    await expect(members.locator("tbody tr")).to_have_count(4)
    assert await axe_violations(page) == []
