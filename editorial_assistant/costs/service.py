"""The cost summary and the monthly report every front door shows, from ``llm_calls`` alone."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from editorial_assistant.config import Settings
from editorial_assistant.costs.period import month_of, parse_month, projection
from editorial_assistant.costs.report import cost_report
from editorial_assistant.db import timestamp
from editorial_assistant.pipeline.budget import month_start

GROUPS = {
    "by_phase": "phase",
    "by_model": "coalesce(model_used, model_requested)",
    "by_day": "substr(created_at, 1, 10)",
}


def cost_summary(
    conn: sqlite3.Connection, *, now: datetime, monthly_budget: float, job_cap: float
) -> dict[str, Any]:
    """This month's spend, breakdowns, and a straight-line projection to the month's end."""
    since = timestamp(month_start(now))
    spent = _total(conn, since)
    summary: dict[str, Any] = {
        "month": now.strftime("%Y-%m"),
        "spent_usd": round(spent, 6),
        "budget_usd": monthly_budget,
        "remaining_usd": round(max(monthly_budget - spent, 0), 6),
        "projected_usd": projection(spent=spent, month=month_of(now), now=now)["projected_usd"],
        "job_cap_usd": job_cap,
    }
    for key, expression in GROUPS.items():
        summary[key] = _grouped(conn, since, expression)
    return summary


def _total(conn: sqlite3.Connection, since: str) -> float:
    row = conn.execute(
        "SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE created_at >= ?", (since,)
    ).fetchone()
    return float(row[0])


def _grouped(conn: sqlite3.Connection, since: str, expression: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        f"SELECT {expression} AS name, count(*) AS calls, sum(cost_usd) AS cost_usd, "
        "sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens "
        f"FROM llm_calls WHERE created_at >= ? GROUP BY {expression} ORDER BY {expression}",
        (since,),
    )
    return [{**dict(row), "cost_usd": round(row["cost_usd"], 6)} for row in rows]


def monthly_report(
    conn: sqlite3.Connection, *, month: str | None, now: datetime, settings: Settings
) -> dict[str, Any]:
    """The cost report for ``month`` (``YYYY-MM``; none means the current month)."""
    return cost_report(
        conn,
        month=parse_month(month, now=now),
        now=now,
        budget_usd=settings.budget.monthly_usd,
        hosting=settings.hosting,
    )
