"""``GET /costs``: a month's LLM spend against the monthly budget, per day (a chart and its
table), per phase and per model, the projection, and the report downloads.

Every figure comes from ``cost_report`` (through ``monthly_report``, as ``GET
/api/costs/report`` builds it), so the page and the downloads always agree.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from editorial_assistant import deps
from editorial_assistant.auth.rules import allow
from editorial_assistant.config import Settings
from editorial_assistant.costs.period import month_of, parse_month
from editorial_assistant.costs.service import monthly_report
from editorial_assistant.web.charts import Bar, bar_chart
from editorial_assistant.web.render import page, usd

router = APIRouter(include_in_schema=False)
TICK_DAYS = frozenset({1, 5, 10, 15, 20, 25, 30})
FORMATS = (("markdown", "Markdown"), ("csv", "CSV"), ("json", "JSON"))


@router.get("/costs", response_class=HTMLResponse, dependencies=[allow("viewer", page=True)])
def costs_page(
    request: Request,
    month: str | None = Query(None, description="YYYY-MM (UTC); default the current month."),
    conn: sqlite3.Connection = Depends(deps.conn),
    settings: Settings = Depends(deps.settings),
    now: datetime = Depends(deps.now),
) -> HTMLResponse:
    """The month's spend, the budget and where the money went."""
    report = monthly_report(conn, month=month, now=now, settings=settings)
    budget = settings.budget.monthly_usd
    spent = report["totals"]["cost_usd"]
    return page(
        request,
        "costs.html",
        report=report,
        budget=budget,
        spent=spent,
        percent=percent_of(spent, budget),
        warn_at=budget * settings.monitor.budget_warn_ratio,
        current=month_of(now).label,
        chart=daily_chart(report),
        nearby=nearby_months(report["month"], now=now),
        formats=FORMATS,
    )


def daily_chart(report: dict[str, Any]) -> Markup:
    """The month's spend per day as an SVG bar chart."""
    days = report["by_day"]
    bars = [Bar(day["name"], day["cost_usd"], _tick(day["name"])) for day in days]
    busiest = max(days, key=lambda day: day["cost_usd"], default=None)
    said = f"{len(days)} days of {report['month']}, {usd(report['totals']['cost_usd'])} in all"
    if busiest is not None and busiest["cost_usd"] > 0:
        said += f"; the most on {busiest['name']}: {money(busiest['cost_usd'])}"
    return bar_chart(
        bars,
        chart_id="spend-per-day",
        title=f"LLM spend per day, {report['month']}",
        description=said + ". The table after the chart lists every day.",
        value_text=money,
    )


def percent_of(spent: float, budget: float) -> str | None:
    """``spent`` as a whole percentage of ``budget`` ("less than 1" rather than a false 0)."""
    if not budget:
        return None
    share = 100 * spent / budget
    return "less than 1" if 0 < share < 0.5 else f"{share:.0f}"


def money(value: float) -> str:
    """Dollars to the cent, or to a hundredth of a cent when cents would hide the amount."""
    return usd(value, 2 if round(value, 2) == value else 4)


def nearby_months(label: str, *, now: datetime) -> dict[str, str | None]:
    """The months before and after ``label`` that have a report (none after the current one)."""
    month = parse_month(label, now=now)
    after = month_of(month.end)
    first = (month.start.year, month.start.month) == (1, 1)  # nothing before year 1
    return {
        "previous": None if first else month_of(month.start - timedelta(days=1)).label,
        "next": after.label if after.start <= now else None,
    }


def _tick(day: str) -> str:
    number = int(day[-2:])
    return str(number) if number in TICK_DAYS else ""
