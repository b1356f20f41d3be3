"""The real service and Debian's Chromium for browser tests: starting, signing in, axe, screenshots.

Nothing here imports Playwright at module level: the package build runs the suite without the
developer tools, and ``conftest.py`` leaves these tests out there.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from tests.system.processes import (
    admin_key,
    api_client,
    environment,
    free_port,
    start,
    stop,
    wait_for,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[3]
CHROMIUM = Path("/usr/bin/chromium")
AXE_VERSION = "4.14.1"
AXE = REPO / ".cache" / "axe-core" / AXE_VERSION / "axe.min.js"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
SIZES = {"desktop": (1280, 800), "phone": (360, 740)}
PERSONAS = {"admin": "alice", "editor": "bob", "viewer": "carol"}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = ("serious", "critical")
# Every sign-in comes from 127.0.0.1: the login limit (10 a minute) would refuse a busy run.
QUIET = {"EA_RATE_LIMITS_ENABLED": "false"}
# The local backend waits this long before each call. The sample captions (tests.conftest.SRT)
# make four calls (analyst, formatter, seo, manager), so their job stays "running" about 8 s:
# long enough to watch it in the queue, even through the page's 5 s polling fallback.
SLOW_BACKEND = {"EA_LLM_LOCAL_DELAY_SECONDS": "2.0", "EA_WORKER_CONCURRENCY": "1"}


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if find_spec("playwright") is None:
        return "Playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"Chromium is not at {CHROMIUM} (apt install chromium fonts-dejavu-core)"
    return None


def axe_missing() -> str | None:
    """Why the accessibility check cannot run here, or None."""
    if not AXE.exists():
        return f"axe-core is not at {AXE.relative_to(REPO)} (run scripts/fetch-axe, or make test)"
    return None


@dataclass
class LiveService:
    """A running ``editorial-assistant serve`` (API and worker) and its accounts."""

    base_url: str
    env: dict[str, str]
    log: Path
    api: httpx.Client
    passwords: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """Run an ``editorial-assistant`` command against this service's data."""
        return subprocess.run(
            [sys.executable, "-m", "editorial_assistant", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@contextmanager
def live_service(folder: Path, **env: str) -> Iterator[LiveService]:
    """Migrate, add alice, bob and carol with passwords, then serve on a free port until done."""
    port = free_port()
    # The port in the settings too: /system's API check probes the configured port.
    environ = environment(folder, **{**QUIET, "EA_API_PORT": str(port), **env})
    service = LiveService(
        base_url=f"http://127.0.0.1:{port}",
        env=environ,
        log=folder / "serve.log",
        api=api_client(admin_key(environ)),
    )
    for role, username in PERSONAS.items():
        add_account(service, username, role)
    server = start(["serve", "--port", str(port), "--workers", "1"], environ, service.log)
    try:
        ready = service.url("/readyz")
        wait_for(lambda: httpx.get(ready, timeout=2).status_code == 200, "ready", service.log)
        yield service
    finally:
        service.api.close()
        code = stop(server, signal.SIGINT)
        assert code == 0, service.log.read_text(errors="replace")[-3000:]


def add_account(service: LiveService, username: str, role: str) -> None:
    """Create an account with a password through the CLI, as an operator would."""
    password = f"{username}-browser-test-password"
    made = service.cli(
        "user", "create", username, "--role", role, "--password-stdin", stdin=password + "\n"
    )
    assert made.returncode == 0, made.stderr
    service.passwords[username] = password


def sign_in(page: Page, username: str, password: str) -> None:
    """Fill in and send the real /login form (the page's context has the service's base URL)."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in_or_fail(page: Page, username: str, password: str) -> None:
    """Sign in and wait until the browser has left /login."""
    sign_in(page, username, password)
    page.wait_for_url(lambda url: urlsplit(url).path != "/login")


def axe_check(page: Page) -> list[dict[str, Any]]:
    """Run axe-core's WCAG 2.0/2.1 A and AA rules on the page; return its violations.

    The page must come from an axe context (``bypass_csp``): Playwright injects the file as an
    inline script, which the dashboard's ``script-src 'self'`` refuses.
    """
    page.add_script_tag(path=str(AXE))
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}}
    result = page.evaluate("options => axe.run(document, options)", options)
    return list(result["violations"])


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The serious and critical violations."""
    return [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]


def describe(violations: list[dict[str, Any]], url: str) -> str:
    """A readable list: rule, impact, help, and each failing node's target."""
    lines = [f"axe found {len(violations)} serious or critical violation(s) on {url}:"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        lines += [f"    at {' '.join(map(str, node['target']))}" for node in v["nodes"]]
    return "\n".join(lines)


def assert_accessible(page: Page) -> list[dict[str, Any]]:
    """Fail on any serious or critical axe violation; return all violations found."""
    violations = axe_check(page)
    found = blocking(violations)
    assert not found, describe(found, page.url)
    return violations


def size_of(page: Page) -> str:
    """``desktop`` or ``phone``, from the page's viewport."""
    viewport = page.viewport_size or {"width": 0, "height": 0}
    sizes = {dims: name for name, dims in SIZES.items()}
    return sizes.get((viewport["width"], viewport["height"]), "other")


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG as ``test-artifacts/screenshots/<name>-<size>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{size_of(page)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
