"""``GET /api/backups``: admins see whether backups are healthy and the latest runs; nobody else."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from editorial_assistant.app import create_app
from editorial_assistant.backups.records import finish_run, start_run
from editorial_assistant.backups.router import router
from editorial_assistant.config import Settings
from editorial_assistant.db import connect, utcnow
from tests.conftest import add_persona, bearer


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    made = create_app(settings)
    # Until app.py registers the router (then this adds nothing).
    if not any(getattr(route, "path", "") == "/api/backups" for route in made.routes):
        made.include_router(router)
    return made


@pytest.fixture
def admin(app: FastAPI, settings: Settings) -> Iterator[TestClient]:
    key = add_persona(settings, "alice", "admin")
    with TestClient(app, headers=bearer(key), raise_server_exceptions=False) as client:
        yield client


def test_an_admin_sees_the_summary_and_the_runs_newest_first(
    admin: TestClient, settings: Settings
) -> None:
    conn, now = connect(settings.database_path), utcnow()
    good = start_run(conn, kind="backup", trigger="timer", now=now - timedelta(hours=30))
    finish_run(conn, run_id=good, result="ok", now=now - timedelta(hours=30), bytes_added=1200)
    bad = start_run(conn, kind="backup", trigger="timer", now=now - timedelta(hours=6))
    error = "restic backup failed (exit code 1): Fatal: wrong password or no key found"
    finish_run(conn, run_id=bad, result="failed", now=now - timedelta(hours=6), error=error)

    answer = admin.get("/api/backups")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [run["id"] for run in body["runs"]] == [bad, good]
    assert body["runs"][1]["bytes_added"] == 1200
    status = body["status"]
    assert status["healthy"] is False and status["last_good"]["id"] == good
    assert 29.9 < status["last_good_age_hours"] < 30.1 and status["max_age_hours"] == 26
    assert f"the last backup ended failed: {error}" in status["problems"]
    assert any("h old (limit 26 h)" in problem for problem in status["problems"])
    assert admin.get("/api/backups", params={"kind": "drill"}).json()["runs"] == []
    assert admin.get("/api/backups", params={"limit": 0}).status_code == 422


def test_nobody_but_an_admin_sees_backups(app: FastAPI, settings: Settings) -> None:
    viewer = add_persona(settings, "carol", "viewer")
    editor = add_persona(settings, "bob", "editor")
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/backups").status_code == 401
        for key in (viewer, editor):
            assert client.get("/api/backups", headers=bearer(key)).status_code == 403
