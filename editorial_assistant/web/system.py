"""``GET /system`` (admins): each component's status (as ``GET /api/system/status`` and
``editorial-assistant status`` report it), the versions, the backups and drills, the alerts
firing now, and where the documentation is.

The status probes the API, cloudflared and (under systemd) the units, each within
``status.probe_timeout_seconds``; the route is a plain function, so it runs in a worker thread
and never holds up the event loop. Off systemd (a development machine) unit states are unknown
and the page says so.
"""

from __future__ import annotations

import platform
import sqlite3
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from editorial_assistant import __version__, deps
from editorial_assistant.auth.rules import allow
from editorial_assistant.backups.health import backup_status
from editorial_assistant.config import Settings
from editorial_assistant.db import latest_version, schema_version, timestamp
from editorial_assistant.monitoring.alerts import firing
from editorial_assistant.monitoring.status import status_document, system_status, under_systemd
from editorial_assistant.web.render import page, seconds_between

router = APIRouter(include_in_schema=False)
DOCS_FOLDER = "/usr/share/doc/editorial-assistant"
GUIDES = (
    ("dashboard.md", "the dashboard's pages and who sees what"),
    ("install.md", "installing on an Ubuntu VM"),
    ("upgrade.md", "upgrading and rolling back"),
    ("access.md", "sign-in, people, roles, API keys and the audit log"),
    ("tunnel.md", "Cloudflare Tunnel and Cloudflare Access"),
    ("openrouter-and-spend.md", "OpenRouter and keeping spend predictable"),
    ("costs.md", "cost reports"),
    ("monitoring.md", "status, doctor, alerts and metrics"),
    ("backups.md", "daily snapshots and the restic archive"),
    ("restore.md", "restoring the database"),
    ("rotate-secrets.md", "setting and rotating secrets"),
    ("apt-repository.md", "serving upgrades from your own apt repository"),
)


@router.get("/system", response_class=HTMLResponse, dependencies=[allow("admin", page=True)])
def system_page(
    request: Request,
    conn: sqlite3.Connection = Depends(deps.conn),
    settings: Settings = Depends(deps.settings),
    now: datetime = Depends(deps.now),
) -> HTMLResponse:
    """How the service stands, for the people who run it."""
    systemd = under_systemd()
    status = status_document(
        system_status(conn, settings=settings, now=now, systemd=systemd), now=now
    )
    backups = backup_status(conn, settings=settings, now=now)
    return page(
        request,
        "system.html",
        status=status,
        systemd=systemd,
        versions=versions(conn),
        backup=backups,
        backup_age=run_age(backups["last_run"], now),
        drill_age=run_age(backups["drill"]["last_run"], now),
        alerts=[dict(row) for row in firing(conn)],
        guides=GUIDES,
        docs_folder=DOCS_FOLDER,
    )


def versions(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """What runs here: the app, Python, SQLite and the database schema."""
    return [
        ("Editorial Assistant", __version__),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        ("Database schema", f"version {schema_version(conn)} (this code knows {latest_version()})"),
    ]


def run_age(run: dict[str, Any] | None, now: datetime) -> str | None:
    """How long ago a backup run or drill ended (or started, while it runs), in words."""
    if run is None:
        return None
    seconds = seconds_between(run["finished_at"] or run["started_at"], timestamp(now)) or 0.0
    return age_text(seconds)


def age_text(seconds: float) -> str:
    """``12 min``, ``5.5 h`` or ``3.2 days``."""
    if seconds < 3600:
        return f"{max(seconds, 0) / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
