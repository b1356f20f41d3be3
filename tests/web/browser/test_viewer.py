"""A viewer in Chromium: every page readable, no control that changes anything, admin pages
refused with the friendly 403 page, and a write forced from the page's own script refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.browser.dashboard import completed_job, job
from tests.web.browser.harness import LiveService

pytestmark = [pytest.mark.system, pytest.mark.needs_dev_tools]

FORCED_CANCEL = """async jobId => {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const response = await fetch(`/api/jobs/${jobId}/cancel`, {
    method: "POST",
    headers: { "X-CSRF-Token": token, Accept: "application/json" },
    credentials: "same-origin",
  });
  return { status: response.status, body: await response.json() };
}"""


@pytest.fixture(scope="module")
def finished(live: LiveService) -> dict[str, Any]:
    """A completed job with its drafts, so the job and project pages have content."""
    return completed_job(live)


def read_only_pages(job: dict[str, Any]) -> list[str]:
    return ["/", f"/jobs/{job['id']}", "/projects", f"/projects/{job['media_id']}", "/costs"]


def test_a_viewer_sees_no_write_controls(
    page_as: Callable[..., Page], finished: dict[str, Any]
) -> None:
    page = page_as("viewer")
    for path in read_only_pages(finished):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect(page.locator("[data-dropzone], input[type=file]")).to_have_count(0)
        # The one form that posts to the API is the viewer's own Sign out.
        forms = page.locator("form[data-api]")
        expect(forms).to_have_count(1)
        expect(forms).to_have_attribute("data-api", "/api/auth/logout")
        expect(forms.get_by_role("button")).to_have_accessible_name("Sign out")
        for name in ("Cancel", "Pause", "Resume", "Retry", "Set", "Revoke", "Grant"):
            expect(page.get_by_role("button", name=name)).to_have_count(0)


@pytest.mark.parametrize("path", ["/admin/users", "/admin/keys", "/admin/audit", "/system"])
def test_a_viewer_forcing_an_admin_page_gets_the_friendly_403_page(
    page_as: Callable[..., Page], path: str
) -> None:
    page = page_as("viewer")
    response = page.goto(path)
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("main code").first).to_have_text("forbidden")
    expect(page.get_by_role("link", name="Back to the queue")).to_be_visible()
    writes = "form[data-api]:not([data-api='/api/auth/logout'])"
    expect(page.locator(f"table, {writes}")).to_have_count(0)


def test_a_write_forced_from_the_viewers_page_is_refused(
    page_as: Callable[..., Page], live: LiveService, finished: dict[str, Any]
) -> None:
    page = page_as("viewer")
    page.goto(f"/jobs/{finished['id']}")
    answer = page.evaluate(FORCED_CANCEL, finished["id"])
    # The page's CSRF token is accepted; the role is what refuses.
    assert answer["status"] == 403, answer
    assert answer["body"]["error"]["code"] == "forbidden", answer
    assert job(live, finished["id"])["status"] == "completed"
