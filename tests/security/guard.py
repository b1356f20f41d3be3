"""What an attack must never achieve, checked after every request it sends.

``Watch`` follows every table's rows and the data folder's files; ``data_problems`` compares
two states. A refused request (4xx) or a read (GET) may add only the audit entries that record
who failed to sign in or first used a key; an accepted write may add rows and change at most one
row per table (never rewrite a table, as an injected ``OR 1=1`` would), and may only add files
under ``transcripts/`` or ``outputs/`` with safe names. ``response_problems`` checks what the
caller sees: no server error, the security headers, the shared error shape, no header with a
line break, and nothing internal (tracebacks, absolute paths, ``/etc/passwd``, secrets).
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from editorial_assistant.config import Settings

# Written on a refused request or a read by design: the record of a failed sign-in attempt.
AUTH_EVENTS = frozenset(
    {
        "auth.login_failed",
        "auth.lockout",
        "auth.access_denied",
        "auth.key_rejected",
        "key.first_used",
    }
)
# Bookkeeping a request may touch without changing data: key and session use, and the count of
# failed sign-ins behind the lockout (a refused sign-in raises it by design).
VOLATILE = {
    "api_keys": {"last_used_at", "last_used_ip"},
    "sessions": {"last_seen_at"},
    "users": {"failed_logins", "locked_until"},
}
DATABASE_FILE = re.compile(r"\.db(-wal|-shm|-journal)?$")
SAFE_COMPONENT = re.compile(r"[A-Za-z0-9_.-]+")
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")
PASSWD = re.compile(r"root:[^:\s]*:0:0:")
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options")
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True)
class State:
    """Every table's rows by rowid, and the data folder's files (database files aside)."""

    rows: dict[str, dict[int, dict[str, Any]]]
    files: frozenset[str]


class Watch:
    """The database and the data folder, re-read only after some connection has committed.

    ``PRAGMA data_version`` on this connection changes whenever another one commits, so a request
    that wrote nothing costs one pragma and one walk of the folder.
    """

    def __init__(self, settings: Settings) -> None:
        self.data_dir = settings.data_dir
        uri = f"file:{settings.database_path}?mode=ro"
        self.conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self.version = self._version()
        self.state = State(self._rows(), self._files())

    def step(self) -> tuple[State, State]:
        """(state at the last step, state now)."""
        before, version = self.state, self._version()
        rows = before.rows if version == self.version else self._rows()
        self.version, self.state = version, State(rows, self._files())
        return before, self.state

    def close(self) -> None:
        """Close the read-only connection."""
        self.conn.close()

    def _version(self) -> int:
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def _rows(self) -> dict[str, dict[int, dict[str, Any]]]:
        query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        tables = [row[0] for row in self.conn.execute(query).fetchall()]
        return {table: _rows(self.conn, table) for table in tables}

    def _files(self) -> frozenset[str]:
        return frozenset(
            os.path.relpath(os.path.join(folder, name), self.data_dir)
            for folder, _dirs, names in os.walk(self.data_dir)
            for name in names
            if not DATABASE_FILE.search(name)
        )


def _rows(conn: sqlite3.Connection, table: str) -> dict[int, dict[str, Any]]:
    cursor = conn.execute(f'SELECT rowid AS "~rowid", * FROM "{table}"')  # a name from sqlite
    names = [d[0] for d in cursor.description]
    skip = {"~rowid", *VOLATILE.get(table, ())}
    return {
        row[0]: {name: value for name, value in zip(names, row, strict=True) if name not in skip}
        for row in cursor
    }


def data_problems(before: State, after: State, *, method: str, status: int) -> list[str]:
    """What changed that this request had no business changing."""
    problems = []
    accepted = status < 400 and method not in ("GET", "HEAD", "OPTIONS")
    if set(before.rows) != set(after.rows):
        problems.append(f"tables changed: {sorted(set(before.rows) ^ set(after.rows))}")
    for table in set(before.rows) & set(after.rows):
        old, new = before.rows[table], after.rows[table]
        added = [new[k] for k in new.keys() - old.keys()]
        removed = len(old.keys() - new.keys())
        changed = sum(1 for k in old.keys() & new.keys() if old[k] != new[k])
        if table == "audit_log":
            if removed or changed:
                problems.append(f"audit_log rewritten ({removed} removed, {changed} changed)")
            unexpected = [row for row in added if row["action"] not in AUTH_EVENTS]
            if unexpected and not accepted:
                problems.append(f"audit entries from a refused request or a read: {unexpected}")
        elif not accepted and (added or removed or changed):
            problems.append(f"{table}: {len(added)} added, {removed} removed, {changed} changed")
        elif removed > (1 if method == "DELETE" else 0) or changed > 1:
            problems.append(f"{table} rewritten: {removed} rows removed, {changed} changed")
    problems += _file_problems(before.files, after.files, accepted=accepted)
    return problems


def _file_problems(before: frozenset[str], after: frozenset[str], *, accepted: bool) -> list[str]:
    problems = [f"file removed: {name}" for name in sorted(before - after)]
    for name in sorted(after - before):
        parts = Path(name).parts
        allowed = accepted and parts[0] in ("transcripts", "outputs")
        if not allowed or not all(SAFE_COMPONENT.fullmatch(part) for part in parts):
            problems.append(f"file created: {name!r}")
    return problems


def response_problems(response: httpx.Response, *, secrets: tuple[str, ...]) -> list[str]:
    """What is wrong with a response an attacker received."""
    problems = []
    status = response.status_code
    if status >= 500:
        problems.append(f"status {status}: {response.text[:300]}")
    problems += [f"no {name} header" for name in SECURITY_HEADERS if name not in response.headers]
    for name, value in response.headers.multi_items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            problems.append(f"line break in response header {name!r}: {value!r}")
    if not SANE_REQUEST_ID.fullmatch(response.headers.get("x-request-id", "")):
        problems.append(f"X-Request-ID echoed as {response.headers.get('x-request-id')!r}")
    text = response.content.decode("utf-8", "replace")
    if TRACEBACK.search(text):
        problems.append(f"traceback in the body: {text[:300]}")
    if PASSWD.search(text):
        problems.append("/etc/passwd in the body")
    problems += [f"{secret!r} in the body" for secret in secrets if secret in text]
    if 400 <= status < 500 and response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        problems += _error_shape_problems(response.json())
    return problems


def _error_shape_problems(body: Any) -> list[str]:
    error = body.get("error") if isinstance(body, dict) else None
    if set(body) != {"error"} or not isinstance(error, dict):
        return [f"not the error shape: {body!r:.300}"]
    if not {"code", "message", "hint", "request_id"} <= set(error) or not error["message"]:
        return [f"error without code, message, hint or request_id: {error!r:.300}"]
    return []
