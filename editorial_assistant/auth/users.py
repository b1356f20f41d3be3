"""Accounts: create, list, change, and sign in with a password (with lockout).

A sign-in that fails counts against the account; ``threshold`` failures in a row lock it for
``minutes`` (an admin can unlock it sooner). The count, the lock and the audit entries are
committed before the caller hears "no", so a failed attempt is never rolled back.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from editorial_assistant.audit.events import Action
from editorial_assistant.audit.service import Who, record
from editorial_assistant.auth.passwords import hash_password, needs_rehash, verify_password
from editorial_assistant.auth.roles import ROLES
from editorial_assistant.db import timestamp, transaction
from editorial_assistant.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}")
PUBLIC_COLUMNS = (
    "id, username, email, role, disabled, locked_until, created_at, last_login_at, "
    "password_hash IS NOT NULL AS has_password"
)
WRONG = "Wrong username or password."


@dataclass(frozen=True)
class Lockout:
    """Failed sign-ins in a row that lock an account, and for how long."""

    threshold: int
    minutes: int


def check_username(username: str) -> str:
    """The normalised username, or a clear refusal."""
    name = username.strip().lower()
    if not USERNAME.fullmatch(name):
        raise InvalidInput(
            f"{username!r} is not a valid username.",
            code="invalid_username",
            hint="Use 1-64 lower-case letters, digits, dots, dashes or underscores.",
        )
    return name


def check_email(email: str | None) -> str | None:
    """The normalised e-mail address (or None), or a clear refusal."""
    if email is None or not email.strip():
        return None
    if not EMAIL.fullmatch(email.strip()):
        raise InvalidInput(f"{email!r} is not an e-mail address.", code="invalid_email")
    return email.strip().lower()


def check_role(role: str) -> str:
    """``role`` if it is one of the roles, else a refusal naming them."""
    if role not in ROLES:
        raise InvalidInput(
            f"{role!r} is not a role.", code="invalid_role", hint="Use viewer, editor or admin."
        )
    return role


def create_user(
    conn: sqlite3.Connection,
    *,
    username: str,
    role: str,
    who: Who,
    now: datetime,
    email: str | None = None,
    password: str | None = None,
) -> dict[str, Any]:
    """A new account (with a password, or none yet: then it signs in by link or Access)."""
    name, mail, role = check_username(username), check_email(email), check_role(role)
    hashed = hash_password(password) if password is not None else None
    with transaction(conn):
        if conn.execute(
            "SELECT 1 FROM users WHERE username = ? OR (email IS NOT NULL AND email = ?)",
            (name, mail),
        ).fetchone():
            raise Conflict(
                f"An account named {name!r} or with that e-mail address already exists.",
                code="user_exists",
            )
        conn.execute(
            "INSERT INTO users (username, email, role, password_hash, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (name, mail, role, hashed, timestamp(now), timestamp(now)),
        )
        details = {"role": role, "email": mail, "password": hashed is not None}
        record(
            conn,
            who=who,
            action=Action.USER_CREATED,
            now=now,
            resource_type="user",
            resource_id=name,
            details=details,
        )
    return get_user_or_raise(conn, username=name)


def get_user(conn: sqlite3.Connection, *, username: str) -> dict[str, Any] | None:
    """One account without its password hash, or None."""
    row = conn.execute(
        f"SELECT {PUBLIC_COLUMNS} FROM users WHERE username = ?", (username.strip().lower(),)
    ).fetchone()
    return _public(row) if row else None


def get_user_or_raise(conn: sqlite3.Connection, *, username: str) -> dict[str, Any]:
    """One account, or a 404 naming it."""
    user = get_user(conn, username=username)
    if user is None:
        raise NotFound(
            f"There is no account named {username!r}.",
            code="user_not_found",
            hint="`editorial-assistant user list` shows the accounts.",
        )
    return user


def user_by_id(conn: sqlite3.Connection, *, user_id: int) -> dict[str, Any] | None:
    """One account by id, or None."""
    row = conn.execute(f"SELECT {PUBLIC_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone()
    return _public(row) if row else None


def user_by_email(conn: sqlite3.Connection, *, email: str) -> dict[str, Any] | None:
    """The account with this e-mail address, or None."""
    row = conn.execute(
        f"SELECT {PUBLIC_COLUMNS} FROM users WHERE email = ?", (email.strip().lower(),)
    ).fetchone()
    return _public(row) if row else None


def list_users(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every account, by name."""
    rows = conn.execute(f"SELECT {PUBLIC_COLUMNS} FROM users ORDER BY username").fetchall()
    return [_public(row) for row in rows]


def count_users(conn: sqlite3.Connection) -> int:
    """How many accounts exist."""
    return int(conn.execute("SELECT count(*) FROM users").fetchone()[0])


def _public(row: sqlite3.Row) -> dict[str, Any]:
    user = dict(row)
    user["disabled"] = bool(user["disabled"])
    user["has_password"] = bool(user["has_password"])
    return user


def update_user(
    conn: sqlite3.Connection,
    *,
    username: str,
    who: Who,
    now: datetime,
    role: str | None = None,
    disabled: bool | None = None,
    email: str | None = None,
) -> dict[str, Any]:
    """Change an account's role, e-mail or disabled flag; disabling ends its sessions."""
    changes: dict[str, Any] = {}
    if role is not None:
        changes["role"] = check_role(role)
    if disabled is not None:
        changes["disabled"] = int(disabled)
    if email is not None:
        changes["email"] = check_email(email)
    with transaction(conn):
        user = get_user_or_raise(conn, username=username)
        _keep_one_admin(conn, user=user, changes=changes)
        if changes:
            assignments = ", ".join(f"{column} = ?" for column in changes)
            conn.execute(
                f"UPDATE users SET {assignments}, updated_at = ? WHERE id = ?",
                (*changes.values(), timestamp(now), user["id"]),
            )
        if changes.get("disabled"):
            conn.execute("DELETE FROM sessions WHERE user_id = ?", (user["id"],))
        record(
            conn,
            who=who,
            action=Action.USER_UPDATED,
            now=now,
            resource_type="user",
            resource_id=user["username"],
            details=changes,
        )
    return get_user_or_raise(conn, username=username)


def _keep_one_admin(
    conn: sqlite3.Connection, *, user: dict[str, Any], changes: dict[str, Any]
) -> None:
    demoted = changes.get("role", "admin") != "admin" or changes.get("disabled")
    if user["role"] != "admin" or user["disabled"] or not demoted:
        return
    others = conn.execute(
        "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id != ?",
        (user["id"],),
    ).fetchone()[0]
    if not others:
        raise Conflict(
            f"{user['username']} is the only active admin; nobody could manage accounts.",
            code="last_admin",
            hint="Make another account admin first.",
        )


def set_password(
    conn: sqlite3.Connection,
    *,
    username: str,
    password: str,
    who: Who,
    now: datetime,
    keep_session: int | None = None,
) -> None:
    """Set a new password, unlock the account and end its sessions (but ``keep_session``)."""
    hashed = hash_password(password)
    with transaction(conn):
        user = get_user_or_raise(conn, username=username)
        conn.execute(
            "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL, "
            "updated_at = ? WHERE id = ?",
            (hashed, timestamp(now), user["id"]),
        )
        conn.execute(
            "DELETE FROM sessions WHERE user_id = ? AND id IS NOT ?", (user["id"], keep_session)
        )
        record(
            conn,
            who=who,
            action=Action.PASSWORD_CHANGED,
            now=now,
            resource_type="user",
            resource_id=user["username"],
        )


def unlock_user(conn: sqlite3.Connection, *, username: str, who: Who, now: datetime) -> None:
    """Clear an account's lock and failure count."""
    with transaction(conn):
        user = get_user_or_raise(conn, username=username)
        conn.execute(
            "UPDATE users SET failed_logins = 0, locked_until = NULL, updated_at = ? WHERE id = ?",
            (timestamp(now), user["id"]),
        )
        record(
            conn,
            who=who,
            action=Action.USER_UNLOCKED,
            now=now,
            resource_type="user",
            resource_id=user["username"],
        )


def authenticate(
    conn: sqlite3.Connection,
    *,
    username: str,
    password: str,
    lockout: Lockout,
    who: Who,
    now: datetime,
) -> dict[str, Any]:
    """The account if the password is right; otherwise count the failure and refuse."""
    with transaction(conn):
        row = conn.execute(
            "SELECT * FROM users WHERE username = ?", (username.strip().lower()[:64],)
        ).fetchone()
        refusal = _check_sign_in(conn, row=row, password=password, lockout=lockout, now=now)
        subject = row["username"] if row else username.strip().lower()[:64]
        record(
            conn,
            who=Who(subject, who.ip, who.request_id),
            action=Action.LOGIN_FAILED if refusal else Action.LOGIN,
            now=now,
            resource_type="user",
            resource_id=subject,
            details={"reason": refusal.code} if refusal else None,
        )
    if refusal:
        raise refusal
    return get_user_or_raise(conn, username=row["username"])


def _check_sign_in(
    conn: sqlite3.Connection,
    *,
    row: sqlite3.Row | None,
    password: str,
    lockout: Lockout,
    now: datetime,
) -> Unauthenticated | Forbidden | None:
    matches = verify_password(row["password_hash"] if row else None, password)
    if row is None or row["disabled"]:
        return Unauthenticated(WRONG, code="wrong_credentials")
    if row["locked_until"] and row["locked_until"] > timestamp(now):
        return _locked(row["locked_until"])
    if not matches:
        return _count_failure(conn, row=row, lockout=lockout, now=now)
    rehash = hash_password(password) if needs_rehash(row["password_hash"]) else row["password_hash"]
    conn.execute(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ?, "
        "password_hash = ? WHERE id = ?",
        (timestamp(now), rehash, row["id"]),
    )
    return None


def _count_failure(
    conn: sqlite3.Connection, *, row: sqlite3.Row, lockout: Lockout, now: datetime
) -> Unauthenticated | Forbidden:
    failures = row["failed_logins"] + 1
    if failures < lockout.threshold:
        conn.execute("UPDATE users SET failed_logins = ? WHERE id = ?", (failures, row["id"]))
        return Unauthenticated(WRONG, code="wrong_credentials")
    until = timestamp(now + timedelta(minutes=lockout.minutes))
    conn.execute(
        "UPDATE users SET failed_logins = 0, locked_until = ? WHERE id = ?", (until, row["id"])
    )
    record(
        conn,
        who=Who("system"),
        action=Action.LOCKOUT,
        now=now,
        resource_type="user",
        resource_id=row["username"],
        details={"failures": failures, "until": until},
    )
    return _locked(until)


def _locked(until: str) -> Forbidden:
    return Forbidden(
        f"This account is locked after too many failed sign-ins, until {until[:16]} UTC.",
        code="account_locked",
        hint="Wait, or ask an admin to run `editorial-assistant user unlock`.",
    )
