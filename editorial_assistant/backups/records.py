"""The ``backup_runs`` table: one row per backup, drill or restore, read by status and alerts.

A run is recorded as ``running`` when it starts and finished with its result, so a run that
died half-way (power cut, OOM kill) shows as still ``running`` with no end: status reports it.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any, Literal

from editorial_assistant.db import timestamp, transaction

Kind = Literal["backup", "drill", "restore"]
Result = Literal["ok", "warning", "failed"]
FIELDS = ("snapshot_file", "snapshot_bytes", "restic_snapshot_id", "bytes_added", "error")


def start_run(conn: sqlite3.Connection, *, kind: Kind, trigger: str, now: datetime) -> int:
    """Record that a run started; its id."""
    with transaction(conn):
        cursor = conn.execute(
            "INSERT INTO backup_runs (kind, trigger, started_at, result) "
            "VALUES (?, ?, ?, 'running')",
            (kind, trigger, timestamp(now)),
        )
    return int(cursor.lastrowid or 0)


def finish_run(
    conn: sqlite3.Connection,
    *,
    run_id: int,
    result: Result,
    now: datetime,
    details: dict[str, Any] | None = None,
    **fields: object,
) -> None:
    """Record how a run ended and what it made (``snapshot_file``, ``bytes_added``, …)."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown backup_runs fields: {sorted(unknown)}")
    assignments = "".join(f", {name} = ?" for name in fields)
    with transaction(conn):
        conn.execute(
            f"UPDATE backup_runs SET result = ?, finished_at = ?, details = ?{assignments} "
            "WHERE id = ?",
            (result, timestamp(now), json.dumps(details or {}), *fields.values(), run_id),
        )


def list_runs(
    conn: sqlite3.Connection, *, kind: Kind | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The latest runs, newest first."""
    where, params = ("WHERE kind = ?", (kind,)) if kind else ("", ())
    rows = conn.execute(
        f"SELECT * FROM backup_runs {where} ORDER BY id DESC LIMIT ?", (*params, limit)
    ).fetchall()
    return [_run(row) for row in rows]


def last_good(conn: sqlite3.Connection, *, kind: Kind) -> dict[str, Any] | None:
    """The newest run of ``kind`` that ended ``ok`` or ``warning``, if any."""
    row = conn.execute(
        "SELECT * FROM backup_runs WHERE kind = ? AND result IN ('ok', 'warning') "
        "ORDER BY id DESC LIMIT 1",
        (kind,),
    ).fetchone()
    return _run(row) if row else None


def _run(row: sqlite3.Row) -> dict[str, Any]:
    run = dict(row)
    run["details"] = json.loads(run["details"]) if run["details"] else {}
    return run
