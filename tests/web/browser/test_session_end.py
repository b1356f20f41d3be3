"""A page left open after its session ended says so, instead of silently showing old data."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.web.browser.dashboard import completed_job
from tests.web.browser.harness import LiveService

pytestmark = [pytest.mark.system, pytest.mark.needs_dev_tools]

SIGN_OUT_ELSEWHERE = """async () => {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const response = await fetch("/api/auth/logout", {
    method: "POST", headers: { "X-CSRF-Token": token }, credentials: "same-origin",
  });
  return response.status;
}"""


@pytest.mark.parametrize("events", [True, False], ids=["events", "polling"])
def test_a_page_whose_session_ended_says_so(
    page_as: Callable[..., Page], live: LiveService, events: bool
) -> None:
    finished = completed_job(live)
    page = page_as("viewer")
    if not events:
        page.context.add_init_script("delete window.EventSource")
    page.goto(f"/jobs/{finished['id']}")
    expect(page.locator("body")).to_have_attribute(
        "data-live-mode", "events" if events else "polling"
    )
    assert page.evaluate(SIGN_OUT_ELSEWHERE) == 204  # as if from another tab
    flash = page.locator("#flash")
    # An open stream lasts up to 55 s; its reconnect is refused, and the page falls to polling.
    expect(flash).to_contain_text("You have been signed out", timeout=90_000)
    expect(flash).to_have_attribute("role", "status")
    assert page.url.endswith(f"/jobs/{finished['id']}")  # the page stays for reading
