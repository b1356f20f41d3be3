"""``GET /api/costs``: month to date against the budget, by phase, model and day; and
``GET /api/costs/report``: a whole month's report as JSON, Markdown or CSV."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from editorial_assistant import deps
from editorial_assistant.auth.rules import allow
from editorial_assistant.config import Settings
from editorial_assistant.costs.rendering import MEDIA_TYPES, file_name, render_report
from editorial_assistant.costs.service import cost_summary, monthly_report

router = APIRouter(prefix="/api", tags=["costs"])
TEXT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/markdown": {}, "text/csv": {}}}
}


@router.get("/costs", dependencies=[allow("viewer")])
def costs(
    conn: sqlite3.Connection = Depends(deps.conn),
    settings: Settings = Depends(deps.settings),
    now: datetime = Depends(deps.now),
) -> dict[str, Any]:
    """This month's LLM spend, the budget, breakdowns and the projection."""
    return cost_summary(
        conn,
        now=now,
        monthly_budget=settings.budget.monthly_usd,
        job_cap=settings.budget.job_cap_usd,
    )


@router.get(
    "/costs/report",
    dependencies=[allow("viewer")],
    response_model=None,
    responses=TEXT_RESPONSES,
)
def costs_report(
    month: str | None = Query(None, description="YYYY-MM (UTC); default the current month."),
    fmt: Literal["json", "markdown", "csv"] = Query("json", alias="format"),
    conn: sqlite3.Connection = Depends(deps.conn),
    settings: Settings = Depends(deps.settings),
    now: datetime = Depends(deps.now),
) -> dict[str, Any] | Response:
    """A month's spend by day, phase, model and tier, per job and per programme minute, its
    projection and the hosting comparison."""
    report = monthly_report(conn, month=month, now=now, settings=settings)
    if fmt == "json":
        return report
    disposition = "attachment" if fmt == "csv" else "inline"
    return Response(
        render_report(report, fmt=fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'{disposition}; filename="{file_name(report, fmt=fmt)}"'},
    )
