"""Readiness: can this process reach its database (at the right schema) and its queue?"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from editorial_assistant.db import check_schema, schema_version
from editorial_assistant.errors import NotReady


def readiness(conn: sqlite3.Connection, *, queue_pending: Callable[[], int]) -> dict[str, object]:
    """Report what answers; raise ``NotReady`` naming what does not."""
    try:
        check_schema(conn)
        conn.execute("SELECT 1 FROM jobs LIMIT 1").fetchall()
    except sqlite3.Error as exc:
        raise NotReady(
            f"The database does not answer: {exc}.",
            hint="Check the data folder's permissions and disk space.",
        ) from exc
    try:
        pending = queue_pending()
    except Exception as exc:
        raise NotReady(
            f"The job queue does not answer: {exc}.",
            hint="Check the queue database in the data folder.",
        ) from exc
    return {"status": "ready", "schema_version": schema_version(conn), "queue_pending": pending}
