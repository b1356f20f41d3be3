"""``editorial-assistant status`` and ``GET /api/system/status`` on real data: a real SQLite
database, real HTTP servers on 127.0.0.1 standing in for the API and cloudflared."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from editorial_assistant.config import Settings
from editorial_assistant.db import latest_version, migrate, utcnow
from tests.conftest import add_persona, bearer, make_settings
from tests.monitoring.status_helpers import (
    add_job,
    components,
    ready_server,
    run,
    tunnel_set_up,
)
from tests.system.processes import free_port

NAMES = ["api", "worker", "migrations", "queue", "llm", "litestream", "backup", "cloudflared",
         "disk", "memory", "budget"]  # fmt: skip


@pytest.fixture
def api_port() -> Iterator[int]:
    with ready_server() as port:
        yield port


def settings_for(tmp_path: Path, api_port: int, **env: str) -> Settings:
    settings = make_settings(tmp_path, EA_API_PORT=str(api_port), **env)
    migrate(settings.database_path)
    return settings


def test_a_fresh_database_lists_every_component_and_warns_about_backups(
    tmp_path: Path, api_port: int
) -> None:
    settings = settings_for(tmp_path, api_port)
    result = run(settings, "status")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == NAMES
    assert lines[-1].startswith("overall: WARN")
    found = components(run(settings, "status", "--json"))
    assert found["api"]["level"] == "ok" and f"127.0.0.1:{api_port}" in found["api"]["reason"]
    assert found["backup"]["level"] == "warn"
    assert "no backup has succeeded yet" in found["backup"]["reason"]
    assert found["migrations"]["level"] == "ok" and found["worker"]["level"] == "ok"
    assert found["cloudflared"]["level"] == "ok" and "not set up" in found["cloudflared"]["reason"]


def test_the_json_says_the_worst_level_and_when(tmp_path: Path, api_port: int) -> None:
    body = json.loads(run(settings_for(tmp_path, api_port), "status", "--json").output)
    assert body["level"] == "warn" and body["checked_at"]
    assert {"name", "level", "reason", "details", "fix"} <= set(body["components"][0])


def test_a_job_queued_for_hours_with_no_worker_fails(tmp_path: Path, api_port: int) -> None:
    settings = settings_for(tmp_path, api_port)
    job = add_job(settings, status="queued", queued_at=utcnow() - timedelta(hours=3))
    result = run(settings, "status")
    assert result.exit_code == 1, result.output
    worker = components(run(settings, "status", "--json"))["worker"]
    assert worker["level"] == "fail"
    assert worker["reason"].startswith(f"not consuming: job {job} has waited 3.0 h")


def test_a_job_queued_a_moment_ago_is_not_a_failure(tmp_path: Path, api_port: int) -> None:
    settings = settings_for(tmp_path, api_port)
    add_job(settings, status="queued", queued_at=utcnow())
    found = components(run(settings, "status", "--json"))
    assert found["worker"]["level"] == "ok" and found["queue"]["reason"].startswith("1 queued")


def test_a_running_job_whose_heartbeat_stopped_fails(tmp_path: Path, api_port: int) -> None:
    settings = settings_for(tmp_path, api_port)
    job = add_job(settings, status="running", queued_at=utcnow() - timedelta(hours=1))
    worker = components(run(settings, "status", "--json"))["worker"]
    assert worker["level"] == "fail" and f"job {job} runs but" in worker["reason"]


def test_a_budget_85_percent_spent_warns(tmp_path: Path, api_port: int) -> None:
    settings = settings_for(tmp_path, api_port, EA_BUDGET_MONTHLY_USD="10")
    add_job(settings, status="completed", queued_at=utcnow(), cost=8.5)
    budget = components(run(settings, "status", "--json"))["budget"]
    assert budget["level"] == "warn" and "$8.50 of $10.00" in budget["reason"]
    assert "(85%)" in budget["reason"]


def test_a_spent_budget_fails(tmp_path: Path, api_port: int) -> None:
    settings = settings_for(tmp_path, api_port, EA_BUDGET_MONTHLY_USD="10")
    add_job(settings, status="completed", queued_at=utcnow(), cost=10.0)
    result = run(settings, "status")
    assert result.exit_code == 1
    assert components(run(settings, "status", "--json"))["budget"]["level"] == "fail"


def test_a_schema_older_than_the_code_fails_migrations(tmp_path: Path, api_port: int) -> None:
    settings = settings_for(tmp_path, api_port)
    with sqlite3.connect(settings.database_path) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() - 1}")
    result = run(settings, "status")
    assert result.exit_code == 1, result.output
    migrations = components(run(settings, "status", "--json"))["migrations"]
    assert migrations["level"] == "fail"
    assert migrations["reason"] == f"schema at version {latest_version() - 1}, this code needs " \
        f"{latest_version()}"  # fmt: skip
    assert migrations["fix"] == "Run `editorial-assistant migrate`."


def test_no_database_fails_without_creating_one(tmp_path: Path, api_port: int) -> None:
    settings = make_settings(tmp_path, EA_API_PORT=str(api_port))
    result = run(settings, "status")
    assert result.exit_code == 1 and "no database at" in result.output
    assert not settings.database_path.exists()


def test_an_api_that_does_not_answer_fails(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, free_port())
    api = components(run(settings, "status", "--json"))["api"]
    assert api["level"] == "fail" and "did not answer" in api["reason"]


def test_cloudflared_answering_ready_is_ok_and_refusing_is_fail(tmp_path: Path) -> None:
    tunnel = tunnel_set_up(tmp_path)
    with ready_server() as port:
        settings = settings_for(
            tmp_path, port, EA_STATUS_CLOUDFLARED_METRICS=f"127.0.0.1:{port}", **tunnel
        )
        answered = components(run(settings, "status", "--json"))["cloudflared"]
    assert answered["level"] == "ok" and "/ready is 200" in answered["reason"]
    refused = make_settings(tmp_path, EA_STATUS_CLOUDFLARED_METRICS=f"127.0.0.1:{port}", **tunnel)
    found = components(run(refused, "status", "--json"))["cloudflared"]
    assert found["level"] == "fail" and "did not answer" in found["reason"]


def test_admins_get_the_same_components_over_http(client: TestClient) -> None:
    response = client.get("/api/system/status")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["name"] for item in body["components"]] == NAMES
    levels = {item["level"] for item in body["components"]}
    assert body["level"] == next(level for level in ("fail", "warn", "ok") if level in levels)
    assert body["checked_at"]


def test_viewers_are_refused_and_anonymous_callers_must_sign_in(
    client: TestClient, anonymous: TestClient, settings: Settings
) -> None:
    key = add_persona(settings, "carol", "viewer")
    with TestClient(client.app, headers=bearer(key), raise_server_exceptions=False) as viewer:
        assert viewer.get("/api/system/status").status_code == 403
    assert anonymous.get("/api/system/status").status_code == 401
