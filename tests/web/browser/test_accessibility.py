"""Every dashboard page in Chromium at desktop and phone width: axe-core's WCAG 2.1 A/AA rules
(no serious or critical violation), a screenshot of each, no sideways scrolling of the page at
360 px, and the keyboard path from the top: the skip link first, then the main navigation, each
with a visible focus outline.

Pages are seen as alice (admin), who sees every control; the sign-in page anonymously.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.browser.dashboard import completed_job
from tests.web.browser.harness import LiveService

pytestmark = [pytest.mark.system, pytest.mark.needs_dev_tools]

MISSING_JOB = 999_999
PAGES = {
    "queue": "/",
    "job": "/jobs/{id}",
    "projects": "/projects",
    "project": "/projects/{media_id}",
    "costs": "/costs",
    "system": "/system",
    "admin-users": "/admin/users",
    "admin-keys": "/admin/keys",
    "admin-audit": "/admin/audit",
    "sign-in": "/login",
    "error-404": f"/jobs/{MISSING_JOB}",
}
SIGNED_OUT = {"sign-in"}
NAV = ["Queue", "Projects", "Costs", "System", "Users", "API keys", "Audit log"]
FOCUSED = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const box = element.getBoundingClientRect();
  return {
    name: (element.getAttribute("aria-label") || element.textContent || "").trim(),
    outline: style.outlineStyle === "none" ? "0px" : style.outlineWidth,
    onScreen: box.width > 0 && box.height > 0 && box.left >= 0 && box.top >= 0,
  };
}"""


@pytest.fixture(scope="module")
def finished(live: LiveService) -> dict[str, Any]:
    """A completed job: the queue has a row, the job page drafts, the project page a job."""
    return completed_job(live)


def open_page(
    name: str,
    size: str,
    finished: dict[str, Any],
    page_as: Callable[..., Page],
    new_page: Callable[..., Page],
    *,
    axe: bool = False,
) -> Page:
    """The named page at ``size``, loaded, as alice (or signed out for the sign-in page)."""
    page = new_page(size, axe=axe) if name in SIGNED_OUT else page_as("admin", size, axe=axe)
    response = page.goto(PAGES[name].format(**finished))
    assert response is not None
    assert response.status == (404 if name == "error-404" else 200), response.url
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    return page


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("name", PAGES)
def test_every_page_passes_the_accessibility_check(
    name: str,
    size: str,
    finished: dict[str, Any],
    page_as: Callable[..., Page],
    new_page: Callable[..., Page],
    assert_accessible: Callable[[Page], Any],
    screenshot: Callable[[Page, str], Any],
) -> None:
    page = open_page(name, size, finished, page_as, new_page, axe=True)
    if name == "job":
        expect(page.locator("#job-drafts article.draft").first).to_be_visible()
    screenshot(page, name)
    assert_accessible(page)


@pytest.mark.parametrize("name", PAGES)
def test_no_page_scrolls_sideways_on_a_phone(
    name: str,
    finished: dict[str, Any],
    page_as: Callable[..., Page],
    new_page: Callable[..., Page],
) -> None:
    page = open_page(name, "phone", finished, page_as, new_page)
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """() => Array.from(document.querySelectorAll("body *"))
          .filter(e => e.getBoundingClientRect().right > 360 && !e.closest(".table-wrap"))
          .filter(e => getComputedStyle(e).position !== "absolute")
          .slice(0, 5).map(e => e.outerHTML.slice(0, 120))"""
    )
    assert width <= 360, f"the page is {width} px wide at 360 px; too wide: {wide}"


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("name", sorted(set(PAGES) - SIGNED_OUT))
def test_the_keyboard_reaches_the_skip_link_then_the_navigation(
    name: str,
    size: str,
    finished: dict[str, Any],
    page_as: Callable[..., Page],
    new_page: Callable[..., Page],
) -> None:
    page = open_page(name, size, finished, page_as, new_page)
    expected = ["Skip to content", "Editorial Assistant", *NAV]
    reached = []
    for _ in expected:
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        assert focused["outline"] != "0px", f"no visible focus on {focused['name']!r}"
        assert focused["onScreen"], f"{focused['name']!r} is focused but off screen"
        reached.append(focused["name"])
    assert reached == expected

    page.goto(page.url)  # from the top again: the skip link takes the keyboard to the content
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_the_sign_in_page_starts_at_the_username_with_a_visible_focus(
    new_page: Callable[..., Page],
) -> None:
    page = new_page()
    page.goto("/login")
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    assert page.evaluate(FOCUSED)["outline"] != "0px"
    for _ in range(3):  # back past the username and the brand link
        page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED)["name"] == "Skip to content"
