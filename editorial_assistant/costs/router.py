"""``GET /api/costs``: month to date against the budget, by phase, model and day."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends

from editorial_assistant import deps
from editorial_assistant.auth.rules import allow
from editorial_assistant.config import Settings
from editorial_assistant.costs.service import cost_summary

router = APIRouter(prefix="/api", tags=["costs"])


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
