"""Shared steps for the access tests: personas, sessions, audit counts."""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi.testclient import TestClient

from editorial_assistant.audit.service import Who
from editorial_assistant.auth.users import set_password
from editorial_assistant.config import Settings
from editorial_assistant.db import connect, utcnow

PASSWORD = "correct horse battery staple"


def give_password(settings: Settings, username: str, password: str = PASSWORD) -> None:
    """Set an account's password directly in the database."""
    conn = connect(settings.database_path)
    try:
        set_password(conn, username=username, password=password, who=Who("test"), now=utcnow())
    finally:
        conn.close()


def sign_in(app: Any, username: str, password: str = PASSWORD) -> TestClient:
    """A browser-like client with a session cookie and the CSRF header set."""
    browser = TestClient(app, raise_server_exceptions=False)
    response = browser.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    browser.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return browser


def audit_count(settings: Settings, action: str | None = None) -> int:
    """How many audit entries exist (of one action)."""
    with sqlite3.connect(settings.database_path) as conn:
        if action is None:
            return int(conn.execute("SELECT count(*) FROM audit_log").fetchone()[0])
        query = "SELECT count(*) FROM audit_log WHERE action = ?"
        return int(conn.execute(query, (action,)).fetchone()[0])


def last_audit(settings: Settings) -> dict[str, Any]:
    """The newest audit entry."""
    with sqlite3.connect(settings.database_path) as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("SELECT * FROM audit_log ORDER BY id DESC LIMIT 1").fetchone())
