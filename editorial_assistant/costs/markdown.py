"""The cost report as a Markdown document, to read in a terminal or paste into a ticket.

Names that come from outside (model names, Media IDs) are escaped so they cannot break a table
or inject HTML where the Markdown is rendered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

BREAKDOWN_TITLES = {"by_day": "day", "by_phase": "phase", "by_model": "model", "by_tier": "tier"}


def report_markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown document: summary, breakdowns, jobs, hosting comparison."""
    parts = [f"# Editorial Assistant costs: {report['month']}", _period_line(report), "## Summary"]
    parts.append(_table(("Figure", "Value"), _summary_lines(report), right=(1,)))
    for key, title in BREAKDOWN_TITLES.items():
        lines = [_usage_line(row["name"], row) for row in report[key]]
        parts += [f"## By {title}", _breakdown_table(title.capitalize(), lines)]
    parts += ["## Most expensive jobs", _jobs_table(report["top_jobs"])]
    parts += ["## Hosting comparison", _hosting_intro(report), _hosting_table(report["hosting"])]
    return "\n\n".join(parts) + "\n"


Row = Sequence[str]
USAGE_HEADERS = ("Calls", "Jobs", "Prompt tokens", "Completion tokens", "Cost")


def _period_line(report: dict[str, Any]) -> str:
    start = report["start"][:10]
    end = (datetime.fromisoformat(report["end"]) - timedelta(days=1)).date().isoformat()
    generated = report["generated_at"][:16].replace("T", " ")
    forecast = report["projection"]
    if report["complete"]:
        state = "The month is over: these are its final figures."
    else:
        state = (
            f"The month is under way ({forecast['days_elapsed']:.1f} of "
            f"{forecast['days_in_month']} days gone): the projection extends the run rate "
            "to its end."
        )
    return f"{start} to {end} (UTC). {state} Generated {generated} UTC."


def _summary_lines(report: dict[str, Any]) -> list[tuple[str, ...]]:
    totals, per_job, forecast = report["totals"], report["per_job"], report["projection"]
    basis = "actual" if forecast["basis"] == "actual" else "run rate"
    over = " (over budget)" if forecast["over_budget"] else ""
    return [
        ("LLM spend", _usd(totals["cost_usd"])),
        ("Calls", _count(totals["calls"])),
        ("Jobs", _count(totals["jobs"])),
        ("Programme minutes", _minutes(totals["programme_minutes"])),
        ("Prompt tokens", _count(totals["prompt_tokens"])),
        ("Completion tokens", _count(totals["completion_tokens"])),
        ("Cost per job, median", _usd(per_job["median_usd"])),
        ("Cost per job, p90", _usd(per_job["p90_usd"])),
        ("Cost per programme minute", _usd(report["per_programme_minute_usd"])),
        (f"Projection for the month ({basis})", _usd(forecast["projected_usd"]) + over),
        ("Monthly budget", _usd(forecast["budget_usd"], places=2)),
    ]


def _usage_line(name: object, row: dict[str, Any]) -> tuple[str, ...]:
    counts = (row["calls"], row["jobs"], row["prompt_tokens"], row["completion_tokens"])
    return (_text(name), *(_count(n) for n in counts), _usd(row["cost_usd"]))


def _breakdown_table(title: str, lines: list[tuple[str, ...]]) -> str:
    return _table((title, *USAGE_HEADERS), lines, right=(1, 2, 3, 4, 5))


def _jobs_table(jobs: list[dict[str, Any]]) -> str:
    headers = ("Job", "Media ID", "Programme minutes", "Calls", "Cost")
    lines = [
        (
            str(job["job_id"]),
            _text(job["media_id"]),
            _minutes(job["programme_minutes"]),
            _count(job["calls"]),
            _usd(job["cost_usd"]),
        )
        for job in jobs
    ]
    return _table(headers, lines, right=(0, 2, 3, 4))


def _hosting_intro(report: dict[str, Any]) -> str:
    basis = "actual" if report["complete"] else "projected"
    return (
        "Each option's monthly fee (settings `hosting.*`) plus this month's "
        f"{basis} LLM spend, which is the same wherever the service runs."
    )


def _hosting_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        (
            row["name"] + (" (current)" if row["current"] else ""),
            _usd(row["hosting_usd"], places=2),
            _usd(row["llm_usd"], places=2),
            _usd(row["total_usd"], places=2),
        )
        for row in rows
    ]
    return _table(("Option", "Hosting", "LLM", "Total"), lines, right=(1, 2, 3))


def _table(headers: Row, lines: Sequence[Row], *, right: tuple[int, ...]) -> str:
    if not lines:
        return "_No calls this month._"
    rule = ["---:" if index in right else "---" for index in range(len(headers))]
    rows = [headers, rule, *lines]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def _usd(value: float | None, *, places: int = 4) -> str:
    return "n/a" if value is None else f"${value:,.{places}f}"


def _count(value: int) -> str:
    return f"{value:,}"


def _minutes(value: float) -> str:
    return f"{value:,.1f}"


def _text(value: object) -> str:
    """A table cell from an outside string: no line breaks, pipes or HTML."""
    text = " ".join(str(value).split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
