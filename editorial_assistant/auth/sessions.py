"""Browser sessions for local accounts, and one-time sign-in links.

The cookie holds a random token; the database holds only its keyed digest, the account, when it
started, when it was last used and when it must end. A session ends after ``idle`` without use
or ``absolute`` after sign-in, whichever is first. A sign-in link works once, within its
lifetime, and starts a session like a password would.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from editorial_assistant.audit.events import Action
from editorial_assistant.audit.service import Who, record
from editorial_assistant.auth.tokens import Keyring, new_token
from editorial_assistant.config import Settings
from editorial_assistant.db import timestamp, transaction
from editorial_assistant.errors import Unauthenticated

# last_seen_at is written at most this often, so reads do not each cost a write.
TOUCH_EVERY = timedelta(seconds=60)
LINK_LIFETIME = timedelta(hours=24)


def start_session(
    conn: sqlite3.Connection,
    *,
    user_id: int,
    keyring: Keyring,
    absolute: timedelta,
    now: datetime,
    ip: str | None = None,
    user_agent: str | None = None,
) -> str:
    """A new session's cookie token (the caller's transaction records the sign-in)."""
    token = new_token()
    with transaction(conn):
        conn.execute(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, "
            "ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                keyring.digest(token),
                user_id,
                timestamp(now),
                timestamp(now),
                timestamp(now + absolute),
                ip,
                (user_agent or "")[:200],
            ),
        )
    return token


def resume_session(
    conn: sqlite3.Connection, *, token: str, keyring: Keyring, idle: timedelta, now: datetime
) -> dict[str, Any] | None:
    """The live session and its enabled account for ``token``, or None."""
    digests = keyring.digests(token)
    row = conn.execute(
        f"SELECT s.id AS session_id, s.last_seen_at, s.expires_at, s.token_hash, u.id, "
        f"u.username, u.role FROM sessions s JOIN users u ON u.id = s.user_id "
        f"WHERE s.token_hash IN ({','.join('?' * len(digests))}) AND u.disabled = 0",
        digests,
    ).fetchone()
    if row is None:
        return None
    if row["expires_at"] <= timestamp(now) or row["last_seen_at"] <= timestamp(now - idle):
        end_session(conn, session_id=row["session_id"])
        return None
    _touch(conn, row=row, keyring=keyring, token=token, now=now)
    return dict(row)


def _touch(
    conn: sqlite3.Connection, *, row: sqlite3.Row, keyring: Keyring, token: str, now: datetime
) -> None:
    rehash = row["token_hash"] != keyring.digest(token)  # made with the previous secret
    if not rehash and row["last_seen_at"] > timestamp(now - TOUCH_EVERY):
        return
    with transaction(conn):
        conn.execute(
            "UPDATE sessions SET last_seen_at = ?, token_hash = ? WHERE id = ?",
            (timestamp(now), keyring.digest(token), row["session_id"]),
        )


def end_session(conn: sqlite3.Connection, *, session_id: int) -> None:
    """Forget a session (sign-out, expiry)."""
    with transaction(conn):
        conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))


def create_login_link(
    conn: sqlite3.Connection, *, user_id: int, keyring: Keyring, who: Who, now: datetime
) -> str:
    """A one-time sign-in token for ``user_id``, valid for ``LINK_LIFETIME``."""
    token = new_token()
    with transaction(conn):
        conn.execute(
            "INSERT INTO login_links (token_hash, user_id, created_at, expires_at) "
            "VALUES (?, ?, ?, ?)",
            (keyring.digest(token), user_id, timestamp(now), timestamp(now + LINK_LIFETIME)),
        )
        name = conn.execute("SELECT username FROM users WHERE id = ?", (user_id,)).fetchone()[0]
        record(
            conn,
            who=who,
            action=Action.LOGIN_LINK_CREATED,
            now=now,
            resource_type="user",
            resource_id=name,
        )
    return token


def use_login_link(
    conn: sqlite3.Connection, *, token: str, keyring: Keyring, who: Who, now: datetime
) -> int:
    """The account a valid, unused link signs in (the link is spent), else a refusal."""
    digests = keyring.digests(token)
    with transaction(conn):
        row = conn.execute(
            f"SELECT l.token_hash, l.user_id, l.expires_at, l.used_at, u.username, u.disabled "
            f"FROM login_links l JOIN users u ON u.id = l.user_id "
            f"WHERE l.token_hash IN ({','.join('?' * len(digests))})",
            digests,
        ).fetchone()
        if (
            row
            and not row["used_at"]
            and not row["disabled"]
            and row["expires_at"] > timestamp(now)
        ):
            conn.execute(
                "UPDATE login_links SET used_at = ? WHERE token_hash = ?",
                (timestamp(now), row["token_hash"]),
            )
            record(
                conn,
                who=Who(row["username"], who.ip, who.request_id),
                action=Action.LOGIN,
                now=now,
                resource_type="user",
                resource_id=row["username"],
                details={"method": "link"},
            )
            return int(row["user_id"])
    raise Unauthenticated(
        "This sign-in link is not valid: it was already used, has expired, or was mistyped.",
        code="invalid_login_link",
        hint="Ask an admin for a new one (`editorial-assistant user login-link NAME`).",
    )


def login_link_url(settings: Settings, token: str, *, base: str | None = None) -> str:
    """Where a sign-in link token is spent."""
    api = settings.api
    root = base or api.public_url or f"http://{api.host}:{api.port}"
    return f"{root.rstrip('/')}/login/link?token={token}"
