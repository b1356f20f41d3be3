"""What the backup records mean for alerts: the conditions observed after every backup run,
every restore drill and every monitor pass.

``backup.failed`` and ``drill.failed`` are events: they fire when the newest run failed and
resolve with the next good one. ``backup.stale`` and ``drill.stale`` fire when the last good
run is older than its limit (``backup.max_age_hours``, ``backup.drill_max_age_days``), or when
there has never been one although the service has held data for longer than that.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from editorial_assistant.backups.lock import backup_running
from editorial_assistant.backups.records import Kind, last_good, list_runs
from editorial_assistant.backups.restic import redact
from editorial_assistant.config import Settings
from editorial_assistant.db import timestamp
from editorial_assistant.monitoring.alerts import Condition, observe
from editorial_assistant.monitoring.channels import deliver_pending

NAMES = {"backup": "backup", "drill": "restore drill"}


def backup_conditions(
    conn: sqlite3.Connection, *, settings: Settings, now: datetime
) -> list[Condition]:
    """The four backup alerts as they stand now."""
    limits: dict[Kind, timedelta] = {
        "backup": timedelta(hours=settings.backup.max_age_hours),
        "drill": timedelta(days=settings.backup.drill_max_age_days),
    }
    found = []
    for kind, limit in limits.items():
        found += [_failed(conn, kind), _stale(conn, kind, limit=limit, now=now)]
    return found


def _failed(conn: sqlite3.Connection, kind: Kind) -> Condition:
    finished = [run for run in list_runs(conn, kind=kind, limit=5) if run["result"] != "running"]
    last = finished[0] if finished else None
    failed = last is not None and last["result"] == "failed"
    summary = f"The last {NAMES[kind]} succeeded."
    if last is not None and failed:
        summary = (
            f"The last {NAMES[kind]} (run {last['id']}, {last['finished_at']}) failed: "
            f"{last['error']}"
        )
    return Condition(f"{kind}.failed", failed, summary, "critical", settles=False)


def _stale(conn: sqlite3.Connection, kind: Kind, *, limit: timedelta, now: datetime) -> Condition:
    good = last_good(conn, kind=kind)
    key, name = f"{kind}.stale", NAMES[kind]
    if good is not None:
        age = now - datetime.fromisoformat(good["finished_at"])
        summary = f"The last good {name} finished {_hours(age)} ago (limit {_hours(limit)})."
        return Condition(key, age > limit, summary)
    held_since = _oldest_data(conn)
    breaching = held_since is not None and held_since < timestamp(now - limit)
    summary = f"No {name} has succeeded yet; the service has held data since {held_since}."
    return Condition(key, breaching, summary if breaching else f"No {name} is due yet.")


def _oldest_data(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT min(created_at) FROM transcripts").fetchone()
    return str(row[0]) if row and row[0] else None


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def alert_on_backups(conn: sqlite3.Connection, *, settings: Settings, now: datetime) -> None:
    """Observe the backup conditions and send what changed (never raises for a channel)."""
    observe(conn, settings=settings, conditions=backup_conditions(conn, settings=settings, now=now),
            now=now)  # fmt: skip
    deliver_pending(conn, settings=settings, now=now)


def backup_status(conn: sqlite3.Connection, *, settings: Settings, now: datetime) -> dict[str, Any]:
    """The summary monitoring, the API and ``backup status`` show; no ``problems`` = healthy."""
    newest = list_runs(conn, kind="backup", limit=1)
    last, good = (newest[0] if newest else None), last_good(conn, kind="backup")
    age = None
    if good and good["finished_at"]:
        age = (now - datetime.fromisoformat(good["finished_at"])).total_seconds() / 3600
    running, limit = backup_running(settings.data_dir), settings.backup.max_age_hours
    problems = []
    if good is None:
        problems.append("no backup has succeeded yet")
    elif age is not None and age > limit:
        problems.append(f"the last good backup is {age:.1f} h old (limit {limit:g} h)")
    if last and last["result"] in ("failed", "warning"):
        problems.append(f"the last backup ended {last['result']}: {last['error']}")
    if last and last["result"] == "running" and not running:
        problems.append(f"backup run {last['id']} started but never finished")
    if not settings.backup.restic_repository:
        problems.append("no restic repository is set up: only local snapshots are kept")
    drill = drill_status(conn, settings=settings, now=now)
    problems += drill["problems"]
    return {
        "healthy": not problems,
        "problems": problems,
        "running": running,
        "last_run": last,
        "last_good": good,
        "last_good_age_hours": None if age is None else round(age, 2),
        "max_age_hours": limit,
        "restic_repository": redact(settings.backup.restic_repository) or None,
        "drill": drill,
    }


def drill_status(conn: sqlite3.Connection, *, settings: Settings, now: datetime) -> dict[str, Any]:
    """The restore drill's part of the status: its last run, its last pass, what is wrong."""
    newest = list_runs(conn, kind="drill", limit=1)
    good = last_good(conn, kind="drill")
    age = None
    if good and good["finished_at"]:
        age = (now - datetime.fromisoformat(good["finished_at"])).total_seconds() / 86400
    limit = timedelta(days=settings.backup.drill_max_age_days)
    conditions = [_failed(conn, "drill"), _stale(conn, "drill", limit=limit, now=now)]
    return {
        "last_run": newest[0] if newest else None,
        "last_good": good,
        "last_good_age_days": None if age is None else round(age, 2),
        "max_age_days": settings.backup.drill_max_age_days,
        "problems": [condition.summary for condition in conditions if condition.breaching],
    }
