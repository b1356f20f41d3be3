"""The cost summary every front door shows, computed from the ``llm_calls`` table alone."""

from __future__ import annotations

import calendar
import sqlite3
from datetime import datetime
from typing import Any

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
        "projected_usd": round(_projection(spent, now), 6),
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


def _projection(spent: float, now: datetime) -> float:
    days = calendar.monthrange(now.year, now.month)[1]
    elapsed = (now - month_start(now)).total_seconds() / 86_400
    return spent / max(elapsed, 1 / 24) * days if spent else 0.0
