"""Per-project grants (``project_access``): what a person may do with one Media ID's jobs.

A grant raises a person's global role for that project, never lowers it. Whoever submits the
first transcript of a Media ID becomes its owner; owners and admins manage its grants.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from typing import Any

from editorial_assistant.audit.events import Action
from editorial_assistant.audit.service import Who, record
from editorial_assistant.auth.roles import PROJECT_ROLES
from editorial_assistant.auth.users import get_user_or_raise
from editorial_assistant.db import timestamp, transaction
from editorial_assistant.errors import InvalidInput, NotFound
from editorial_assistant.patterns import MEDIA_ID

# What intake makes of a file name: letters, digits, dashes and underscores (never dots).
MEDIA_ID_PATTERN = MEDIA_ID


def project_role(conn: sqlite3.Connection, *, user_id: int, media_id: str) -> str | None:
    """The grant ``user_id`` holds on ``media_id``, if any."""
    row = conn.execute(
        "SELECT role FROM project_access WHERE user_id = ? AND media_id = ?", (user_id, media_id)
    ).fetchone()
    return row[0] if row else None


def list_grants(conn: sqlite3.Connection, *, media_id: str) -> list[dict[str, Any]]:
    """Who holds which grant on ``media_id``."""
    rows = conn.execute(
        "SELECT u.username, p.role, p.granted_by, p.granted_at FROM project_access p "
        "JOIN users u ON u.id = p.user_id WHERE p.media_id = ? ORDER BY u.username",
        (media_id,),
    ).fetchall()
    return [dict(row) for row in rows]


def grant(
    conn: sqlite3.Connection,
    *,
    media_id: str,
    username: str,
    role: str,
    who: Who,
    now: datetime,
) -> None:
    """Give ``username`` ``role`` on ``media_id`` (replacing any earlier grant)."""
    check_media_id(media_id)
    if role not in PROJECT_ROLES:
        raise InvalidInput(
            f"{role!r} is not a project role.",
            code="invalid_role",
            hint="Use viewer, editor or owner.",
        )
    with transaction(conn):
        user = get_user_or_raise(conn, username=username)
        conn.execute(
            "INSERT INTO project_access (user_id, media_id, role, granted_by, granted_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, media_id) DO UPDATE SET "
            "role = excluded.role, granted_by = excluded.granted_by, "
            "granted_at = excluded.granted_at",
            (user["id"], media_id, role, who.actor, timestamp(now)),
        )
        record(
            conn,
            who=who,
            action=Action.PROJECT_GRANTED,
            now=now,
            resource_type="project",
            resource_id=media_id,
            details={"user": user["username"], "role": role},
        )


def check_media_id(media_id: str) -> None:
    """Refuse anything intake could never have made a Media ID of."""
    if not re.fullmatch(MEDIA_ID_PATTERN, media_id):
        raise InvalidInput(
            f"{media_id!r} is not a Media ID.",
            code="invalid_media_id",
            hint="A Media ID is 1-64 letters, digits, dashes or underscores, e.g. 2WLI1209HD.",
        )


def revoke(
    conn: sqlite3.Connection, *, media_id: str, username: str, who: Who, now: datetime
) -> None:
    """Take back ``username``'s grant on ``media_id``."""
    with transaction(conn):
        user = get_user_or_raise(conn, username=username)
        gone = conn.execute(
            "DELETE FROM project_access WHERE user_id = ? AND media_id = ?", (user["id"], media_id)
        ).rowcount
        if not gone:
            raise NotFound(f"{user['username']} has no grant on {media_id}.", code="no_grant")
        record(
            conn,
            who=who,
            action=Action.PROJECT_REVOKED,
            now=now,
            resource_type="project",
            resource_id=media_id,
            details={"user": user["username"]},
        )


def claim_project(conn: sqlite3.Connection, *, user_id: int, media_id: str, now: datetime) -> None:
    """Make ``user_id`` the owner of a Media ID nobody owns yet (inside the submission)."""
    owned = conn.execute(
        "SELECT 1 FROM project_access WHERE media_id = ? AND role = 'owner'", (media_id,)
    ).fetchone()
    if not owned:
        conn.execute(
            "INSERT OR IGNORE INTO project_access (user_id, media_id, role, granted_by, "
            "granted_at) VALUES (?, ?, 'owner', 'system', ?)",
            (user_id, media_id, timestamp(now)),
        )
