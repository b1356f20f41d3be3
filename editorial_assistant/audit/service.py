"""Writing and reading the audit log.

``record`` is called inside the transaction that makes the change, so an entry exists exactly
when the change does; ``audited`` wraps a front door's service call in such a transaction. The
table refuses UPDATE and DELETE (triggers in the migration), and nothing here offers either.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from editorial_assistant.audit.events import Action
from editorial_assistant.db import timestamp, transaction


@dataclass(frozen=True)
class Who:
    """The actor behind a change and where the request came from."""

    actor: str
    ip: str | None = None
    request_id: str | None = None


def record(
    conn: sqlite3.Connection,
    *,
    who: Who,
    action: Action,
    now: datetime,
    resource_type: str | None = None,
    resource_id: object = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one entry (call it inside the change's transaction)."""
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, resource_type, resource_id, details, ip, "
        "request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            timestamp(now),
            who.actor,
            action.value,
            resource_type,
            None if resource_id is None else str(resource_id),
            json.dumps(details, sort_keys=True) if details else None,
            who.ip,
            who.request_id,
        ),
    )


@contextmanager
def audited(
    conn: sqlite3.Connection,
    *,
    who: Who,
    action: Action,
    now: datetime,
    resource_type: str,
    resource_id: object = None,
) -> Iterator[dict[str, Any]]:
    """A transaction that ends with an audit entry; the caller may add ``details``."""
    details: dict[str, Any] = {}
    with transaction(conn):
        yield details
        resource = details.pop("resource_id", resource_id)
        record(
            conn,
            who=who,
            action=action,
            now=now,
            resource_type=resource_type,
            resource_id=resource,
            details=details,
        )


FILTERS = {
    "actor": "actor = ?",
    "action": "action = ?",
    "resource_type": "resource_type = ?",
    "resource_id": "resource_id = ?",
    "since": "at >= ?",
    "until": "at < ?",
    "before_id": "id < ?",
    "after_id": "id > ?",
}


def list_entries(
    conn: sqlite3.Connection, *, limit: int = 50, oldest_first: bool = False, **filters: object
) -> list[dict[str, Any]]:
    """Entries matching every given filter, newest first (or oldest first, for tailing)."""
    used = {name: value for name, value in filters.items() if value is not None}
    where = " AND ".join(FILTERS[name] for name in used) or "1"
    order = "ASC" if oldest_first else "DESC"
    rows = conn.execute(
        f"SELECT * FROM audit_log WHERE {where} ORDER BY id {order} LIMIT ?",  # fixed clauses
        (*used.values(), limit),
    ).fetchall()
    return [_entry(row) for row in rows]


def _entry(row: sqlite3.Row) -> dict[str, Any]:
    entry = dict(row)
    entry["details"] = json.loads(entry["details"]) if entry["details"] else {}
    return entry
