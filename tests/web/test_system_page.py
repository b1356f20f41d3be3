"""The system page (``/system``, admins only): components as ``GET /api/system/status`` reports
them, versions, backups and drills, firing alerts, and where the documentation is."""

from __future__ import annotations

import platform
import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from editorial_assistant import __version__
from editorial_assistant.app import create_app
from editorial_assistant.backups.records import finish_run, start_run
from editorial_assistant.config import Settings
from editorial_assistant.db import connect, latest_version, migrate
from editorial_assistant.monitoring.alerts import Condition, observe
from editorial_assistant.monitoring.status import under_systemd
from editorial_assistant.web.system import GUIDES
from tests.conftest import add_persona, bearer, make_settings
from tests.monitoring.status_helpers import ready_server

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=timezone.utc)
HTML = {"Accept": "text/html"}
HOSTILE = "<script>alert(1)</script>"
GUIDES_DIR = Path(__file__).parents[2] / "docs" / "guides"


@pytest.fixture
def system_settings(tmp_path: Path) -> Iterator[Settings]:
    with ready_server() as port:  # stands in for the API's /readyz
        settings = make_settings(tmp_path, EA_API_PORT=str(port))
        migrate(settings.database_path)
        yield settings


@pytest.fixture
def alice(system_settings: Settings) -> Iterator[TestClient]:
    key = add_persona(system_settings, "alice", "admin")
    app = create_app(system_settings, clock=lambda: NOW)
    with TestClient(app, headers=bearer(key), raise_server_exceptions=False) as client:
        yield client


def main_of(page: str) -> str:
    return page.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def run(settings: Settings, kind: str, hours_ago: float, result: str, error: str | None) -> int:
    """A backup run or drill, recorded as the backup code records them."""
    conn = connect(settings.database_path)
    try:
        finished = NOW - timedelta(hours=hours_ago)
        run_id = start_run(conn, kind=kind, trigger="timer", now=finished - timedelta(minutes=2))  # type: ignore[arg-type]
        finish_run(conn, run_id=run_id, result=result, now=finished, error=error)  # type: ignore[arg-type]
    finally:
        conn.close()
    return run_id


def test_it_shows_the_same_components_as_the_status_api(alice: TestClient) -> None:
    api = alice.get("/api/system/status").json()
    page = alice.get("/system").text
    rows = re.findall(r'<th scope="row">([a-z]+)</th>\s*<td><span class="badge ([a-z]+)">', page)
    assert [name for name, _level in rows] == [item["name"] for item in api["components"]]
    by_name = {item["name"]: item for item in api["components"]}
    assert dict(rows)["api"] == by_name["api"]["level"] == "ok"
    for name in ("migrations", "queue", "budget", "backup"):
        assert dict(rows)[name] == by_name[name]["level"]
        assert by_name[name]["reason"].replace("'", "&#39;") in page
    assert f'Overall: <span class="badge {api["level"]}">' in page


def test_off_systemd_the_units_are_unknown_and_the_page_still_renders(alice: TestClient) -> None:
    page = alice.get("/system")
    assert page.status_code == 200
    if under_systemd():
        assert "<dd>systemd</dd>" in page.text
    else:
        assert (
            "not running under systemd" in page.text
            and "unknown" in page.text
            and "<dd>not under systemd</dd>" in page.text
        )


def test_versions_of_the_app_python_sqlite_and_schema(alice: TestClient) -> None:
    page = alice.get("/system").text
    assert f"<dt>Editorial Assistant</dt><dd>{__version__}</dd>" in page
    assert f"<dt>Python</dt><dd>{platform.python_version()}</dd>" in page
    assert f"<dt>SQLite</dt><dd>{sqlite3.sqlite_version}</dd>" in page
    version = latest_version()
    assert f"<dd>version {version} (this code knows {version})</dd>" in page


def test_backups_and_drills_with_their_age_result_and_escaped_errors(
    alice: TestClient, system_settings: Settings
) -> None:
    fresh = alice.get("/system").text
    assert fresh.count("none yet") == 4 and "no backup has succeeded yet" in fresh
    run(system_settings, "backup", 30, "ok", None)
    failed = run(system_settings, "backup", 3, "failed", f"restic said {HOSTILE}")
    drill = run(system_settings, "drill", 24 * 3, "ok", None)
    page = main_of(alice.get("/system").text)
    assert (
        f'<span class="badge fail">failed</span> run {failed}, 2026-11-16 09:00 UTC (3.0 h ago)'
        in page
    )
    assert "restic said &lt;script&gt;alert(1)&lt;/script&gt;" in page and HOSTILE not in page
    assert "30.0 h ago (limit" in page
    assert (
        f'<span class="badge ok">ok</span> run {drill}, 2026-11-13 12:00 UTC (3.0 days ago)' in page
    )
    assert "3.0 days ago (limit" in page


def test_firing_alerts_are_listed_and_escaped(alice: TestClient, system_settings: Settings) -> None:
    assert "No alert is firing." in alice.get("/system").text
    conn = connect(system_settings.database_path)
    try:
        condition = Condition("disk.full", True, f"The disk is full {HOSTILE}", "critical")
        observe(conn, settings=system_settings, conditions=[condition], now=NOW)
    finally:
        conn.close()
    page = main_of(alice.get("/system").text)
    assert "<code>disk.full</code>" in page and '<span class="badge bad">critical</span>' in page
    assert "The disk is full &lt;script&gt;" in page and HOSTILE not in page


def test_it_links_the_api_docs_and_names_every_guide(alice: TestClient) -> None:
    page = alice.get("/system").text
    assert '<a href="/docs">' in page and '<a href="/redoc">' in page
    for name, _subject in GUIDES:
        assert f"<li><code>{name}</code>:" in page


def test_every_guide_named_exists_and_every_guide_is_named() -> None:
    named = {name for name, _subject in GUIDES}
    on_disk = {path.name for path in GUIDES_DIR.glob("*.md")}
    assert named <= on_disk, named - on_disk
    assert on_disk <= named, f"add {sorted(on_disk - named)} to GUIDES in web/system.py"


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_admins_see_it(alice: TestClient, system_settings: Settings, role: str) -> None:
    other = bearer(add_persona(system_settings, f"someone-{role}", role))
    response = alice.get("/system", headers={**other, **HTML})
    assert response.status_code == 403 and "<code>forbidden</code>" in response.text
    assert alice.get("/costs", headers=other).status_code == 200
    assert alice.get("/projects", headers=other).status_code == 200
    assert 'href="/system"' not in alice.get("/costs", headers=other).text
