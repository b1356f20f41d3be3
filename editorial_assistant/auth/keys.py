"""API keys for integrations: created by an admin, shown once, stored as a keyed digest.

A key carries its own role (and optionally belongs to an account, whose project grants it then
shares and whose disabling stops it). Keys may expire and can be revoked; the first use of each
key is audited, and ``last_used_at`` is kept to the minute.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from editorial_assistant.audit.events import Action
from editorial_assistant.audit.service import Who, record
from editorial_assistant.auth.tokens import Keyring, api_key_prefix, new_api_key
from editorial_assistant.auth.users import check_role, get_user_or_raise
from editorial_assistant.db import timestamp, transaction
from editorial_assistant.errors import InvalidInput, NotFound, Unauthenticated

TOUCH_EVERY = timedelta(seconds=60)
COLUMNS = (
    "k.id, k.prefix, k.name, k.role, u.username AS user, k.created_by, k.created_at, "
    "k.expires_at, k.revoked_at, k.last_used_at, k.last_used_ip"
)


def create_key(
    conn: sqlite3.Connection,
    *,
    name: str,
    role: str,
    keyring: Keyring,
    who: Who,
    now: datetime,
    username: str | None = None,
    expires_in_days: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """A new key (the only time it is ever shown) and its stored description."""
    name = _check_name(name)
    check_role(role)
    expires = timestamp(now + timedelta(days=expires_in_days)) if expires_in_days else None
    key, prefix = new_api_key()
    with transaction(conn):
        user_id = get_user_or_raise(conn, username=username)["id"] if username else None
        key_id = conn.execute(
            "INSERT INTO api_keys (prefix, key_hash, name, role, user_id, created_by, "
            "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (prefix, keyring.digest(key), name, role, user_id, who.actor, timestamp(now), expires),
        ).lastrowid
        record(
            conn,
            who=who,
            action=Action.KEY_CREATED,
            now=now,
            resource_type="api_key",
            resource_id=key_id,
            details={
                "name": name,
                "role": role,
                "prefix": prefix,
                "user": username,
                "expires_at": expires,
            },
        )
    return key, get_key_or_raise(conn, key_id=int(key_id or 0))


def _check_name(name: str) -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= 80 or not cleaned.isprintable():
        raise InvalidInput(
            f"{name!r} is not a usable key name.",
            code="invalid_key_name",
            hint="Name the integration in 1-80 printable characters, e.g. 'watch-folder'.",
        )
    return cleaned


def list_keys(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every key, newest first (never the key itself)."""
    return [
        dict(row)
        for row in conn.execute(
            f"SELECT {COLUMNS} FROM api_keys k LEFT JOIN users u ON u.id = k.user_id "
            "ORDER BY k.id DESC"
        )
    ]


def get_key_or_raise(conn: sqlite3.Connection, *, key_id: int) -> dict[str, Any]:
    """One key's description, or a 404."""
    row = conn.execute(
        f"SELECT {COLUMNS} FROM api_keys k LEFT JOIN users u ON u.id = k.user_id WHERE k.id = ?",
        (key_id,),
    ).fetchone()
    if row is None:
        raise NotFound(
            f"There is no API key {key_id}.",
            code="key_not_found",
            hint="`editorial-assistant api-key list` shows the keys.",
        )
    return dict(row)


def revoke_key(conn: sqlite3.Connection, *, key_id: int, who: Who, now: datetime) -> dict[str, Any]:
    """Stop a key from working (it stays listed, marked revoked)."""
    with transaction(conn):
        key = get_key_or_raise(conn, key_id=key_id)
        if not key["revoked_at"]:
            conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ?", (timestamp(now), key_id)
            )
            record(
                conn,
                who=who,
                action=Action.KEY_REVOKED,
                now=now,
                resource_type="api_key",
                resource_id=key_id,
                details={"name": key["name"], "prefix": key["prefix"]},
            )
    return get_key_or_raise(conn, key_id=key_id)


def authenticate_key(
    conn: sqlite3.Connection, *, key: str, keyring: Keyring, who: Who, now: datetime
) -> dict[str, Any]:
    """The key's row (with its owner's id and state) if ``key`` is valid now, else a refusal."""
    prefix = api_key_prefix(key)
    row = conn.execute(
        "SELECT k.*, u.username, u.disabled AS user_disabled, u.role AS user_role FROM api_keys k "
        "LEFT JOIN users u ON u.id = k.user_id WHERE k.prefix = ?",
        (prefix or "",),
    ).fetchone()
    problem = _key_problem(row, key=key, keyring=keyring, now=now) if prefix else "malformed"
    if problem:
        if prefix:
            with transaction(conn):
                record(
                    conn,
                    who=who,
                    action=Action.KEY_REJECTED,
                    now=now,
                    resource_type="api_key",
                    resource_id=row["id"] if row else None,
                    details={"prefix": prefix, "reason": problem},
                )
        raise Unauthenticated(
            f"The API key is not valid ({problem}).",
            code="invalid_api_key",
            hint="Send `Authorization: Bearer eak_…` with a key an admin created for you.",
        )
    assert row is not None
    _touch(conn, row=row, key=key, keyring=keyring, who=who, now=now)
    return dict(row)


def _key_problem(row: sqlite3.Row | None, *, key: str, keyring: Keyring, now: datetime) -> str:
    if row is None or not keyring.matches(key, row["key_hash"]):
        return "unknown key"
    if row["revoked_at"]:
        return "revoked"
    if row["expires_at"] and row["expires_at"] <= timestamp(now):
        return "expired"
    if row["user_disabled"]:
        return "its account is disabled"
    return ""


def _touch(
    conn: sqlite3.Connection,
    *,
    row: sqlite3.Row,
    key: str,
    keyring: Keyring,
    who: Who,
    now: datetime,
) -> None:
    first = row["last_used_at"] is None
    stale = first or row["last_used_at"] <= timestamp(now - TOUCH_EVERY)
    if not stale and row["key_hash"] == keyring.digest(key):
        return
    with transaction(conn):
        conn.execute(
            "UPDATE api_keys SET last_used_at = ?, last_used_ip = ?, key_hash = ? WHERE id = ?",
            (timestamp(now), who.ip, keyring.digest(key), row["id"]),
        )
        if first:
            record(
                conn,
                who=who,
                action=Action.KEY_FIRST_USED,
                now=now,
                resource_type="api_key",
                resource_id=row["id"],
                details={"name": row["name"]},
            )
