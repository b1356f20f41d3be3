"""Fixtures for tests that drive the real service in Debian's Chromium through Playwright.

``live`` is one ``editorial-assistant serve`` (API and its worker) for the whole package, on the
local LLM backend, with alice (admin), bob (editor) and carol (viewer) signed up with passwords.
``slow_live`` is another, for one module, whose jobs stay "running" for several seconds.
``new_page(size, axe=...)`` and ``page_as(role, size, axe=...)`` open pages at ``desktop``
(1280×800) or ``phone`` (360×740) size. Mark test modules ``system`` and ``needs_dev_tools``.

Without Chromium or axe-core these tests skip, except under EA_REQUIRE_SYSTEM_TESTS=1 (CI),
where they fail instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

import pytest

from tests.system.packages import skip_or_fail
from tests.web.browser import harness
from tests.web.browser.harness import CHROMIUM, PERSONAS, SIZES, LiveService

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

# The package build runs the suite without the developer tools and deselects needs_dev_tools;
# without Playwright these modules cannot even be imported, so leave them out of collection.
if find_spec("playwright") is None:
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; Playwright never downloads a browser of its own."""
    reason = harness.browser_missing()
    if reason:
        skip_or_fail(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    with harness.live_service(tmp_path_factory.mktemp("live")) as service:
        yield service


@pytest.fixture(scope="module")
def slow_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """A service whose local backend waits before every call, one job at a time."""
    folder = tmp_path_factory.mktemp("slow-live")
    with harness.live_service(folder, **harness.SLOW_BACKEND) as service:
        yield service


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh context (no cookies): ``new_page("phone", axe=True)``.

    Relative URLs resolve against ``service`` (default ``live``). Only ``axe=True`` contexts
    bypass the Content-Security-Policy: ``add_script_tag`` injects axe as an inline script,
    which ``script-src 'self'`` refuses. Every other page runs under the real policy.
    """
    contexts: list[BrowserContext] = []

    def open_page(
        size: str = "desktop", *, axe: bool = False, service: LiveService | None = None
    ) -> Page:
        service = service or request.getfixturevalue("live")
        width, height = SIZES[size]
        context = browser.new_context(
            base_url=service.base_url,
            viewport={"width": width, "height": height},
            is_mobile=size == "phone",
            has_touch=size == "phone",
            bypass_csp=axe,
        )
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page_as(new_page: Callable[..., Page], request: pytest.FixtureRequest) -> Callable[..., Page]:
    """Sign in through the real /login form: ``page_as("viewer", "phone")``."""

    def signed_in(
        role: str, size: str = "desktop", *, axe: bool = False, service: LiveService | None = None
    ) -> Page:
        service = service or request.getfixturevalue("live")
        page = new_page(size, axe=axe, service=service)
        username = PERSONAS[role]
        harness.sign_in_or_fail(page, username, service.passwords[username])
        return page

    return signed_in


@pytest.fixture
def axe_check() -> Callable[[Page], list[dict[str, Any]]]:
    """``axe_check(page)``: the WCAG 2.0/2.1 A and AA violations on a page from an axe context."""
    reason = harness.axe_missing()
    if reason:
        skip_or_fail(reason)
    return harness.axe_check


@pytest.fixture
def assert_accessible(axe_check: Callable[..., Any]) -> Callable[[Page], list[dict[str, Any]]]:
    """``assert_accessible(page)``: fail, listing each node, on serious or critical violations."""
    return harness.assert_accessible


@pytest.fixture
def screenshot() -> Callable[[Page, str], Any]:
    """``screenshot(page, name)``: test-artifacts/screenshots/<name>-<desktop|phone>.png."""
    return harness.screenshot
