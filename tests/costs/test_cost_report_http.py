"""``GET /api/costs/report``: a month of synthetic calls against the figures worked out by hand."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from editorial_assistant.app import create_app
from editorial_assistant.config import Settings
from editorial_assistant.db import migrate
from tests.conftest import add_persona, bearer, make_settings
from tests.costs import expected, synthetic

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def month_settings(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path, **synthetic.SETTINGS_ENV)
    migrate(settings.database_path)
    synthetic.write_month(settings.database_path)
    return settings


@pytest.fixture
def app(month_settings: Settings) -> FastAPI:
    return create_app(month_settings, clock=lambda: NOW)


@pytest.fixture
def alice(app: FastAPI, month_settings: Settings) -> Iterator[TestClient]:
    key = add_persona(month_settings, "alice", "admin")
    with TestClient(app, headers=bearer(key), raise_server_exceptions=False) as client:
        yield client


def test_the_json_report_matches_the_hand_computed_table(alice: TestClient) -> None:
    report = alice.get("/api/costs/report?month=2026-10").json()
    assert report["month"] == "2026-10"
    assert report["start"] == "2026-10-01T00:00:00.000+00:00"
    assert report["end"] == "2026-11-01T00:00:00.000+00:00"
    assert report["complete"] is True
    assert report["totals"] == synthetic.TOTALS
    assert report["per_job"] == synthetic.PER_JOB
    assert report["per_programme_minute_usd"] == synthetic.PER_MINUTE
    assert report["projection"] == synthetic.PROJECTION
    assert report["by_phase"] == synthetic.BY_PHASE
    assert report["by_model"] == synthetic.BY_MODEL
    assert report["by_tier"] == synthetic.BY_TIER
    assert report["top_jobs"] == synthetic.TOP_JOBS
    assert report["hosting"] == synthetic.HOSTING


def test_every_day_of_a_past_month_has_a_row_quiet_days_as_zeros(alice: TestClient) -> None:
    days = alice.get("/api/costs/report?month=2026-10").json()["by_day"]
    assert [day["name"] for day in days] == [f"2026-10-{n:02d}" for n in range(1, 32)]
    assert [day for day in days if day["calls"]] == synthetic.BUSY_DAYS
    quiet = synthetic.usage("", 0, 0, 0, 0, 0.0)
    assert all({**day, "name": ""} == quiet for day in days if not day["calls"])


def test_the_markdown_report_matches_the_hand_computed_table(alice: TestClient) -> None:
    response = alice.get("/api/costs/report?month=2026-10&format=markdown")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert (
        'filename="editorial-assistant-costs-2026-10.md"' in response.headers["content-disposition"]
    )
    for section in expected.MARKDOWN_SECTIONS:
        assert section in response.text, section
    day_lines = [line for line in response.text.splitlines() if line.startswith("| 2026-10-")]
    assert len(day_lines) == 31
    assert [line for line in day_lines if "| 0 | 0 | 0 | 0 |" not in line] == (
        expected.BUSY_DAY_LINES
    )


def test_the_csv_report_matches_the_hand_computed_table(alice: TestClient) -> None:
    response = alice.get("/api/costs/report", params={"month": "2026-10", "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="editorial-assistant-costs-2026-10.csv"'
    )
    assert response.text == expected.expected_csv()


def test_the_csv_opens_as_one_table_and_quotes_a_formula_like_model(alice: TestClient) -> None:
    text = alice.get("/api/costs/report?month=2026-10&format=csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {len(row) for row in rows} == {12}
    models = [row["name"] for row in rows if row["section"] == "model"]
    assert models[-1] == "'" + synthetic.HOSTILE
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row.values())


def test_the_current_month_projects_the_run_rate_to_its_end(
    alice: TestClient, month_settings: Settings
) -> None:
    # November so far: the 0.9 call at midnight on the 1st, plus 0.34 on the 16th.
    _add_call(month_settings, "2026-11-16T06:00:00.000+00:00", 0.34)
    report = alice.get("/api/costs/report").json()
    assert report["month"] == "2026-11" and report["complete"] is False
    # 1.24 over 15.5 days is 0.08 a day; 30 days make 2.40.
    assert report["projection"] == {
        "basis": "run_rate",
        "projected_usd": 2.4,
        "days_elapsed": 15.5,
        "days_in_month": 30,
        "daily_run_rate_usd": 0.08,
        "budget_usd": 1.0,
        "over_budget": True,
    }
    assert [day["name"] for day in report["by_day"]][-1] == "2026-11-16"
    assert len(report["by_day"]) == 16
    assert [row["total_usd"] for row in report["hosting"]] == [10.4, 2.4, 43.9, 15.39]
    markdown = alice.get("/api/costs/report?format=markdown").text
    assert "(15.5 of 30 days gone)" in markdown
    assert "| Projection for the month (run rate) | $2.4000 (over budget) |" in markdown


def test_a_month_with_no_calls_reports_zeros_and_no_per_job_figures(alice: TestClient) -> None:
    report = alice.get("/api/costs/report?month=2026-08").json()
    assert report["totals"] == {
        "calls": 0,
        "jobs": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cost_usd": 0.0,
        "programme_minutes": 0.0,
    }
    assert report["per_job"] == {
        "jobs": 0,
        "median_usd": None,
        "p90_usd": None,
        "mean_usd": None,
        "max_usd": None,
    }
    assert report["per_programme_minute_usd"] is None
    assert report["by_phase"] == report["by_model"] == report["top_jobs"] == []
    assert [row["total_usd"] for row in report["hosting"]] == [8.0, 0.0, 41.5, 12.99]
    markdown = alice.get("/api/costs/report?month=2026-08&format=markdown").text
    assert "| Cost per job, median | n/a |" in markdown
    assert "## By model\n\n_No calls this month._" in markdown
    text = alice.get("/api/costs/report?month=2026-08&format=csv").text
    assert "2026-08,summary,cost_per_job_median,,,,,,,,,\r\n" in text


@pytest.mark.parametrize(
    "month",
    ["2026-13", "2026-00", "2026-1", "26-10", "october", "2026-10-01", "2026/10", "x" * 500],
)
def test_a_month_that_is_not_yyyy_mm_is_refused_with_what_is_allowed(
    alice: TestClient, month: str
) -> None:
    response = alice.get("/api/costs/report", params={"month": month})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_month"
    assert "use YYYY-MM, such as 2026-11" in error["message"]
    assert len(error["message"]) < 120


def test_a_month_that_has_not_started_is_refused(alice: TestClient) -> None:
    response = alice.get("/api/costs/report?month=2026-12")
    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        "2026-12 has not started yet (it is 2026-11 now): ask for 2026-11 or an earlier month."
    )


def test_an_unknown_format_is_refused(alice: TestClient) -> None:
    response = alice.get("/api/costs/report?format=xlsx")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(("username", "role"), [("carol", "viewer"), ("bob", "editor")])
def test_viewers_and_editors_may_read_the_report(
    app: FastAPI, month_settings: Settings, username: str, role: str
) -> None:
    key = add_persona(month_settings, username, role)
    with TestClient(app, headers=bearer(key)) as client:
        response = client.get("/api/costs/report?month=2026-10&format=csv")
    assert response.status_code == 200
    assert response.text == expected.expected_csv()


def test_an_anonymous_caller_is_refused(app: FastAPI) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/costs/report?month=2026-10")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def _add_call(settings: Settings, at: str, cost: float) -> None:
    calls = [(at, 5, "seo", 0, synthetic.GEMINI, synthetic.GEMINI, 100, 10, cost)]
    with sqlite3.connect(settings.database_path) as conn:
        conn.executemany(
            "INSERT INTO llm_calls (created_at, job_id, phase, tier, model_requested, "
            "model_used, prompt_tokens, completion_tokens, cost_usd, outcome) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'ok')",
            calls,
        )
