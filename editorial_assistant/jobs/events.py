"""The job event timeline: one row per thing that happened to a job, written with the change."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from editorial_assistant.db import timestamp


def record_event(
    conn: sqlite3.Connection,
    *,
    job_id: int,
    kind: str,
    message: str,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> None:
    """Append an event; call inside the transaction that made the change."""
    conn.execute(
        "INSERT INTO job_events (job_id, at, kind, message, data) VALUES (?, ?, ?, ?, ?)",
        (job_id, timestamp(now), kind, message, json.dumps(data) if data else None),
    )


def list_events(
    conn: sqlite3.Connection, *, job_id: int, after_id: int = 0, limit: int = 500
) -> list[dict[str, Any]]:
    """Events of one job, oldest first, after ``after_id``."""
    rows = conn.execute(
        "SELECT id, at, kind, message, data FROM job_events WHERE job_id = ? AND id > ? "
        "ORDER BY id LIMIT ?",
        (job_id, after_id, limit),
    )
    return [{**dict(row), "data": json.loads(row["data"]) if row["data"] else None} for row in rows]
