"""What the console's browser tests share: Debian's Chromium driven by Playwright, a page per
test (its fixtures are in conftest.py), the axe-core check, signing in with a token, and the
folder their screenshots go to."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from devstack.services import CONSOLE_DIST, REPO
from playwright.async_api import Browser, Page, async_playwright, expect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As root Chromium needs --no-sandbox; the rest keep it off this machine's closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = REPO / "console" / "node_modules" / "axe-core" / "axe.min.js"
OUTPUT = Path(os.environ.get("CDP_TEST_OUTPUT", REPO / "test-output")) / "console"
FIRST_SCREEN_BUDGET_MS = 2000

# Set before any page script runs: when <main> first shows a heading, note the time since the
# navigation started (performance.now() counts from the navigation's start).
FIRST_SCREEN_PROBE = """
window.__firstScreenMs = null;
new MutationObserver((_, observer) => {
  const heading = document.querySelector("main h1");
  if (heading && heading.getBoundingClientRect().height > 0) {
    window.__firstScreenMs = performance.now();
    observer.disconnect();
  }
}).observe(document, { subtree: true, childList: true });
"""


def _ready_to_browse() -> None:
    if not Path(CHROMIUM).exists():
        message = "Chromium is needed: apt-get install -y chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    assert (CONSOLE_DIST / "index.html").exists(), "./dev test builds the console (console/dist)"
    assert AXE.exists(), "./dev test installs the console's packages (axe-core)"
    OUTPUT.mkdir(parents=True, exist_ok=True)


async def launched_browser() -> AsyncIterator[Browser]:
    _ready_to_browse()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


async def new_page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    await context.add_init_script(FIRST_SCREEN_PROBE)
    opened = await context.new_page()
    yield opened
    await context.close()


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    found = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
            "why": [n["failureSummary"] for n in v["nodes"]][:2],  # what to fix, as axe says it
        }
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


async def focused_text(page: Page) -> str:
    return await page.evaluate("document.activeElement?.textContent ?? ''")


async def sign_in_with_token(
    page: Page, platform: Any, user: str, role: str, teams: list[str]
) -> None:
    """Sign in by pasting a token (the quick way; the dev sign-in form is tested elsewhere)."""
    await page.goto(platform.gateway_url + "/sign-in")
    await page.get_by_role("textbox", name="Bearer token").fill(platform.token(user, role, teams))
    await page.get_by_role("button", name="Use this token").click()
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav).to_contain_text(f"{user} · {role}")
