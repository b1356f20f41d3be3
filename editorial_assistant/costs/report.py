"""The monthly cost report, built from the ``llm_calls`` table: spend by day, phase, model and
tier; cost per job and per programme minute; the projection; and the hosting comparison.

A call belongs to the month its ``created_at`` falls in (UTC), so a job whose calls straddle
two months counts in both, with each month's share of its cost and, in each, its programme's
full length. Per-job figures cover the jobs that made calls in the month; the percentiles
interpolate between neighbours (as spreadsheets' PERCENTILE does).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from editorial_assistant.config import HOSTING_OPTIONS, HostingSettings
from editorial_assistant.costs.period import Month, projection
from editorial_assistant.db import timestamp

BREAKDOWNS = {
    "by_day": ("substr(created_at, 1, 10)", "name"),
    "by_phase": ("phase", "cost_usd DESC, name"),
    "by_model": ("coalesce(model_used, model_requested)", "cost_usd DESC, name"),
    "by_tier": ("tier", "name"),
}
TIER_NAMES = ("cheap", "default", "strong")
HOSTING_LABELS = {"home_vm": "home VM", "station_vm": "station VM", "cloud_vm": "cloud VM"}
TOP_JOBS = 5


def cost_report(
    conn: sqlite3.Connection,
    *,
    month: Month,
    now: datetime,
    budget_usd: float,
    hosting: HostingSettings,
) -> dict[str, Any]:
    """Everything the report shows for ``month``, as plain data (rendered by ``rendering``)."""
    window = (timestamp(month.start), timestamp(month.end))
    jobs = _job_costs(conn, window)
    totals = _totals(conn, window)
    forecast = projection(spent=totals["cost_usd"], month=month, now=now)
    llm_usd = forecast["projected_usd"]
    report: dict[str, Any] = {
        "month": month.label,
        "start": timestamp(month.start),
        "end": timestamp(month.end),
        "generated_at": timestamp(now),
        "complete": now >= month.end,
        "totals": totals,
        "projection": {**forecast, "budget_usd": budget_usd, "over_budget": llm_usd > budget_usd},
        "per_job": _per_job([job["cost_usd"] for job in jobs]),
        "per_programme_minute_usd": _per_minute(totals),
    }
    for key, (expression, order) in BREAKDOWNS.items():
        report[key] = _grouped(conn, window, expression, order)
    report["by_day"] = _every_day(report["by_day"], month, now)
    report["by_tier"] = [_tier_row(row) for row in report["by_tier"]]
    report["top_jobs"] = jobs[:TOP_JOBS]
    report["hosting"] = hosting_rows(hosting, llm_usd=llm_usd)
    return report


def hosting_rows(hosting: HostingSettings, *, llm_usd: float) -> list[dict[str, Any]]:
    """Each hosting option's monthly fee plus the month's LLM spend (projected or actual)."""
    rows = []
    for option in HOSTING_OPTIONS:
        fee = float(getattr(hosting, f"{option}_usd"))
        rows.append(
            {
                "option": option,
                "name": HOSTING_LABELS.get(option, option.upper()),
                "current": option == hosting.current,
                "hosting_usd": fee,
                "llm_usd": round(llm_usd, 6),
                "total_usd": round(fee + llm_usd, 6),
            }
        )
    return rows


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile of ``values``, interpolating between the nearest two."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


SUMS = (
    "count(*) AS calls, count(DISTINCT job_id) AS jobs, "
    "coalesce(sum(prompt_tokens), 0) AS prompt_tokens, "
    "coalesce(sum(completion_tokens), 0) AS completion_tokens, "
    "coalesce(sum(cost_usd), 0) AS cost_usd"
)
IN_WINDOW = "created_at >= ? AND created_at < ?"


def _totals(conn: sqlite3.Connection, window: tuple[str, str]) -> dict[str, Any]:
    row = dict(conn.execute(f"SELECT {SUMS} FROM llm_calls WHERE {IN_WINDOW}", window).fetchone())
    seconds = conn.execute(
        "SELECT coalesce(sum(t.duration_seconds), 0) FROM "
        f"(SELECT DISTINCT job_id FROM llm_calls WHERE {IN_WINDOW}) AS c "
        "JOIN jobs j ON j.id = c.job_id JOIN transcripts t ON t.id = j.transcript_id",
        window,
    ).fetchone()[0]
    minutes = round(seconds / 60, 4)
    return {**row, "cost_usd": round(row["cost_usd"], 6), "programme_minutes": minutes}


def _grouped(
    conn: sqlite3.Connection, window: tuple[str, str], expression: str, order: str
) -> list[dict[str, Any]]:
    rows = conn.execute(
        f"SELECT {expression} AS name, {SUMS} FROM llm_calls WHERE {IN_WINDOW} "
        f"GROUP BY {expression} ORDER BY {order}",
        window,
    )
    return [{**dict(row), "cost_usd": round(row["cost_usd"], 6)} for row in rows]


def _job_costs(conn: sqlite3.Connection, window: tuple[str, str]) -> list[dict[str, Any]]:
    """Each job with calls in the window, most expensive first."""
    rows = conn.execute(
        "SELECT c.job_id, j.media_id, coalesce(t.duration_seconds, 0) AS seconds, "
        "count(*) AS calls, sum(c.cost_usd) AS cost_usd FROM llm_calls c "
        "LEFT JOIN jobs j ON j.id = c.job_id LEFT JOIN transcripts t ON t.id = j.transcript_id "
        "WHERE c.created_at >= ? AND c.created_at < ? "
        "GROUP BY c.job_id ORDER BY cost_usd DESC, c.job_id",
        window,
    )
    return [
        {
            "job_id": row["job_id"],
            "media_id": row["media_id"],
            "programme_minutes": round(row["seconds"] / 60, 4),
            "calls": row["calls"],
            "cost_usd": round(row["cost_usd"], 6),
        }
        for row in rows
    ]


def _per_job(costs: list[float]) -> dict[str, Any]:
    if not costs:
        return {"jobs": 0, "median_usd": None, "p90_usd": None, "mean_usd": None, "max_usd": None}
    return {
        "jobs": len(costs),
        "median_usd": round(percentile(costs, 0.5), 6),
        "p90_usd": round(percentile(costs, 0.9), 6),
        "mean_usd": round(sum(costs) / len(costs), 6),
        "max_usd": round(max(costs), 6),
    }


def _per_minute(totals: dict[str, Any]) -> float | None:
    minutes = totals["programme_minutes"]
    return round(totals["cost_usd"] / minutes, 6) if minutes else None


def _every_day(rows: list[dict[str, Any]], month: Month, now: datetime) -> list[dict[str, Any]]:
    """One row per day of the month so far, days without calls as zeros."""
    found = {row["name"]: row for row in rows}
    last = min(month.end, now)
    days = [month.start + timedelta(days=n) for n in range(month.days)]
    names = [day.strftime("%Y-%m-%d") for day in days if day < last]
    empty = {"calls": 0, "jobs": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0}
    return [found.get(name, {"name": name, **empty}) for name in names]


def _tier_row(row: dict[str, Any]) -> dict[str, Any]:
    tier = row["name"]
    name = f"{tier} ({TIER_NAMES[tier]})" if 0 <= tier < len(TIER_NAMES) else str(tier)
    return {**row, "name": name, "tier": tier}
