"""Signing in through the real /login form in Chromium."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.browser.harness import LiveService, sign_in

pytestmark = [pytest.mark.system, pytest.mark.needs_dev_tools]


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_sign_in_page_passes_the_accessibility_check(
    size: str,
    new_page: Callable[..., Page],
    assert_accessible: Callable[[Page], Any],
    screenshot: Callable[[Page, str], Any],
) -> None:
    page = new_page(size, axe=True)
    page.goto("/login")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    screenshot(page, "sign-in")
    assert_accessible(page)


def test_a_wrong_password_shows_the_error_on_the_page(new_page: Callable[..., Page]) -> None:
    page = new_page()
    sign_in(page, "carol", "not-the-password-of-carol")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_label("Username")).to_have_value("carol")
    assert page.request.get("/api/auth/me").status == 401


def test_the_viewer_signs_in_and_lands_on_the_home_page(
    page_as: Callable[..., Page], live: LiveService
) -> None:
    page = page_as("viewer")
    expect(page).to_have_url(live.url("/"))
    # Only the name is asserted: the landing page itself is being replaced by the queue page.
    expect(page).to_have_title(re.compile("Editorial Assistant"))
    me = page.request.get("/api/auth/me")
    assert me.ok, me.text()
    assert (me.json()["name"], me.json()["role"]) == ("carol", "viewer")
