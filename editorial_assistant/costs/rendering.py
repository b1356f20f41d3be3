"""The cost report as text in each format: JSON, Markdown (see ``markdown``) and CSV.

The CSV is one table with a ``section`` column rather than several tables one after another:
a spreadsheet opens it with one header row, so filters, sorting and pivot tables work on it as
it is, each column keeps one meaning and one type, and the ``month`` column lets several
months' files be pasted under each other. Text cells that a spreadsheet would run as a formula
(model names come from OpenRouter) are prefixed with a quote.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from editorial_assistant.costs.markdown import BREAKDOWN_TITLES, report_markdown

CSV_COLUMNS = (
    "month",
    "section",
    "name",
    "calls",
    "jobs",
    "programme_minutes",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "hosting_usd",
    "total_usd",
    "note",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("json", "markdown", "csv")
MEDIA_TYPES = {"json": "application/json", "markdown": "text/markdown", "csv": "text/csv"}


def render_report(report: dict[str, Any], *, fmt: str) -> str:
    """The report as ``json``, ``markdown`` or ``csv`` text."""
    if fmt == "markdown":
        return report_markdown(report)
    if fmt == "csv":
        return report_csv(report)
    return json.dumps(report, indent=2) + "\n"


def file_name(report: dict[str, Any], *, fmt: str) -> str:
    """``editorial-assistant-costs-2026-11.csv`` and the like."""
    extension = {"markdown": "md"}.get(fmt, fmt)
    return f"editorial-assistant-costs-{report['month']}.{extension}"


def report_csv(report: dict[str, Any]) -> str:
    """The report as one CSV table (columns ``CSV_COLUMNS``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(report):
        cells = {"month": report["month"], **row}
        writer.writerow(_cell(cells.get(column)) for column in CSV_COLUMNS)
    return out.getvalue()


def csv_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of the CSV as a mapping of column to value, in order."""
    rows = _summary_rows(report)
    for key, section in BREAKDOWN_TITLES.items():
        rows += [{"section": section, **row} for row in report[key]]
    rows += [{"section": "job", **_job_cells(job)} for job in report["top_jobs"]]
    for option in report["hosting"]:
        note = "current" if option["current"] else ""
        rows.append({"section": "hosting", **option, "cost_usd": option["llm_usd"], "note": note})
    return rows


def _summary_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    forecast, per_job = report["projection"], report["per_job"]
    basis = (
        "actual"
        if forecast["basis"] == "actual"
        else f"run rate over {forecast['days_elapsed']:.1f} of {forecast['days_in_month']} days"
    )
    figures = [
        ("spent", report["totals"], ""),
        ("projection", {"cost_usd": forecast["projected_usd"]}, basis),
        ("budget", {"cost_usd": forecast["budget_usd"]}, "over" if forecast["over_budget"] else ""),
        ("cost_per_job_median", {"cost_usd": per_job["median_usd"]}, ""),
        ("cost_per_job_p90", {"cost_usd": per_job["p90_usd"]}, ""),
        ("cost_per_programme_minute", {"cost_usd": report["per_programme_minute_usd"]}, ""),
    ]
    return [
        {"section": "summary", **values, "name": name, "note": note}
        for name, values, note in figures
    ]


def _job_cells(job: dict[str, Any]) -> dict[str, Any]:
    return {**job, "name": f"job {job['job_id']}", "jobs": 1, "note": job["media_id"]}


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".")
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(FORMULA_STARTS) else text
