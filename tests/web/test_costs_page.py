"""The costs page (``/costs``): calls recorded as the pipeline records them, and every figure on
the page the same as ``cost_report``'s for that month."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from editorial_assistant.app import create_app
from editorial_assistant.config import Settings
from editorial_assistant.costs.period import parse_month
from editorial_assistant.costs.report import cost_report
from editorial_assistant.db import connect, migrate
from editorial_assistant.llm.client import Attempt
from editorial_assistant.pipeline.accounting import record_call
from editorial_assistant.web.costs_page import percent_of
from editorial_assistant.web.render import usd
from tests.conftest import SRT, add_persona, bearer, make_settings, upload

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=timezone.utc)
HTML = {"Accept": "text/html"}
HOSTILE_MODEL = "<b>vendor/model</b>"
SVG = "{http://www.w3.org/2000/svg}"
# (when, job, phase, model used, cost): November spends $0.40 by the 16th, October $0.50.
CALLS = [
    ("2026-10-20T10:00", 2, "manager", "strong/a", 0.5),
    ("2026-11-03T09:00", 1, "analyst", "cheap/a", 0.25),
    ("2026-11-03T09:05", 1, "formatter", "cheap/a", 0.1),
    ("2026-11-10T15:00", 2, "seo", HOSTILE_MODEL, 0.05),
    ("2026-11-16T11:00", 2, "manager", None, 0.0),
]


def record(settings: Settings, at: str, job_id: int, phase: str, model: str | None, cost: float):  # type: ignore[no-untyped-def]
    """One LLM call, written by the pipeline's own accounting."""
    attempt = Attempt("cheap/a", model, "ok" if model else "error", 1000, 100, cost, 1.0)
    when = datetime.fromisoformat(at).replace(tzinfo=timezone.utc)
    conn = connect(settings.database_path)
    try:
        record_call(conn, job_id=job_id, phase=phase, tier=0, attempt=attempt, now=when)
    finally:
        conn.close()


@pytest.fixture
def month_settings(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path, EA_BUDGET_MONTHLY_USD="1.00")
    migrate(settings.database_path)
    return settings


@pytest.fixture
def alice(month_settings: Settings) -> Iterator[TestClient]:
    key = add_persona(month_settings, "alice", "admin")
    app = create_app(month_settings, clock=lambda: NOW)
    with TestClient(app, headers=bearer(key), raise_server_exceptions=False) as client:
        for name in ("2WLI1101HD.srt", "6GWQ2402.srt"):
            assert upload(client, name, SRT).status_code == 201
        for call in CALLS:
            record(month_settings, *call)
        yield client


def report_for(settings: Settings, month: str | None) -> dict[str, Any]:
    conn = connect(settings.database_path)
    try:
        return cost_report(
            conn,
            month=parse_month(month, now=NOW),
            now=NOW,
            budget_usd=settings.budget.monthly_usd,
            hosting=settings.hosting,
        )
    finally:
        conn.close()


def chart_of(page: str) -> ET.Element:
    found = re.search(r"<svg .*?</svg>", page, re.S)
    assert found, "no chart"
    return ET.fromstring(found.group(0))


def test_month_to_date_against_the_budget_in_words_and_a_meter(alice: TestClient) -> None:
    page = alice.get("/costs").text
    assert "<h1>Costs for 2026-11</h1>" in page
    assert "$0.40 of $1.00, 40 % so far." in page
    assert '<meter class="meter" id="budget-meter" min="0" max="1.0"' in page
    assert 'value="0.4"' in page
    # 15.5 days elapsed: $0.40 / 15.5 x 30 days.
    assert "the month will come to about <strong>$0.77</strong>" in page


def test_every_figure_is_the_cost_reports(alice: TestClient, month_settings: Settings) -> None:
    report = report_for(month_settings, None)
    page = alice.get("/costs").text
    assert f"{usd(report['totals']['cost_usd'])} of $1.00" in page
    assert usd(report["projection"]["projected_usd"]) in page
    assert usd(report["projection"]["daily_run_rate_usd"], 4) in page
    for key in ("by_phase", "by_model"):
        assert report[key], key
        for row in report[key]:
            name = row["name"].replace("<", "&lt;").replace(">", "&gt;")
            cells = re.search(
                rf'<th scope="row" class="wrap">{re.escape(name)}</th>(.*?)</tr>', page, re.S
            )
            assert cells, name
            assert f"{usd(row['cost_usd'], 4)}</td>" in cells.group(1)
            assert f'<td class="number">{row["calls"]}</td>' in cells.group(1)
    for day in report["by_day"]:
        cells = f"<td>{day['calls']}</td><td>{usd(day['cost_usd'], 4)}</td>"
        assert f'<tr><th scope="row">{day["name"]}</th>{cells}</tr>' in page
    for job in report["top_jobs"]:
        assert f'<a href="/jobs/{job["job_id"]}">#{job["job_id"]}</a>' in page


def test_the_chart_has_a_bar_per_day_so_far_in_proportion(alice: TestClient) -> None:
    svg = chart_of(alice.get("/costs").text)
    assert (
        svg.get("role") == "img"
        and svg.get("aria-labelledby") == "spend-per-day-title spend-per-day-desc"
    )
    bars = svg.findall(f"{SVG}rect")
    assert len(bars) == 16  # 1 to 16 November
    heights = [float(bar.get("height", "")) for bar in bars]
    assert heights[2] / heights[9] == pytest.approx(0.35 / 0.05, rel=1e-3)
    assert sum(1 for height in heights if height) == 2
    assert bars[2].find(f"{SVG}title").text == "2026-11-03: $0.35"  # type: ignore[union-attr]


def test_a_past_month_shows_what_it_cost(alice: TestClient) -> None:
    page = alice.get("/costs?month=2026-10").text
    assert "<h1>Costs for 2026-10</h1>" in page
    assert "The month is over: it cost $0.50" in page
    assert len(chart_of(page).findall(f"{SVG}rect")) == 31
    assert 'href="/costs?month=2026-11" rel="next"' in page
    assert 'href="/costs?month=2026-09" rel="prev"' in page


def test_a_month_without_calls_draws_flat_bars_and_says_so(alice: TestClient) -> None:
    page = alice.get("/costs?month=2026-09").text
    assert "$0.00 of $1.00, 0 %." in page
    assert "No LLM calls in 2026-09." in page
    assert {bar.get("height") for bar in chart_of(page).findall(f"{SVG}rect")} == {"0.00"}


def test_spend_over_the_budget_is_called_out(alice: TestClient, month_settings: Settings) -> None:
    record(month_settings, "2026-11-15T08:00", 1, "manager", "strong/a", 0.7)
    page = alice.get("/costs").text
    assert "$1.10 of $1.00, 110 % so far." in page
    assert "2026-11 went over the monthly budget by $0.10." in page
    assert "New LLM calls are refused" in page


def test_the_month_picker_is_labelled_and_the_report_links_work(alice: TestClient) -> None:
    page = alice.get("/costs?month=2026-10").text
    assert '<label for="month">Month</label>' in page
    assert '<input id="month" type="month" name="month" value="2026-10" max="2026-11"' in page
    for fmt, kind in (("markdown", "text/markdown"), ("csv", "text/csv"), ("json", "json")):
        assert f'href="/api/costs/report?month=2026-10&amp;format={fmt}"' in page
        response = alice.get(f"/api/costs/report?month=2026-10&format={fmt}")
        assert response.status_code == 200 and kind in response.headers["content-type"]


@pytest.mark.parametrize("month", ["2026-13", "2027-01", "<script>", "November"])
def test_a_bad_or_future_month_is_a_friendly_422(alice: TestClient, month: str) -> None:
    response = alice.get("/costs", params={"month": month}, headers=HTML)
    assert response.status_code == 422
    assert "<code>invalid_month</code>" in response.text
    assert "<script>" not in response.text.split("<main", 1)[1]


def test_hostile_model_names_are_escaped(alice: TestClient) -> None:
    page = alice.get("/costs").text
    assert HOSTILE_MODEL not in page and "&lt;b&gt;vendor/model&lt;/b&gt;" in page


def test_a_viewer_reads_the_costs_and_anonymous_browsers_sign_in(
    alice: TestClient, month_settings: Settings
) -> None:
    viewer = bearer(add_persona(month_settings, "carol", "viewer"))
    page = alice.get("/costs", headers=viewer)
    assert page.status_code == 200 and "$0.40 of $1.00" in page.text
    with TestClient(alice.app, raise_server_exceptions=False) as anonymous:
        response = anonymous.get("/costs", headers=HTML, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


@pytest.mark.parametrize(
    ("spent", "budget", "said"),
    [(0.0, 50.0, "0"), (0.1, 50.0, "less than 1"), (12.4, 50.0, "25"), (55.0, 50.0, "110")],
)
def test_the_share_of_the_budget_never_reads_0_when_money_was_spent(
    spent: float, budget: float, said: str
) -> None:
    assert percent_of(spent, budget) == said
    assert percent_of(spent, 0.0) is None
