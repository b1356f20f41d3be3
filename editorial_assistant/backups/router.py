"""``GET /api/backups``: for admins, whether backups are healthy and the latest runs."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from editorial_assistant import deps
from editorial_assistant.auth.rules import allow
from editorial_assistant.backups.health import backup_status
from editorial_assistant.backups.records import Kind, list_runs
from editorial_assistant.backups.schemas import BackupsOut
from editorial_assistant.config import Settings

router = APIRouter(prefix="/api", tags=["backups"])


@router.get("/backups", response_model=BackupsOut, dependencies=[allow("admin")])
def backups(
    conn: sqlite3.Connection = Depends(deps.conn),
    settings: Settings = Depends(deps.settings),
    now: datetime = Depends(deps.now),
    kind: Annotated[Kind | None, Query(description="Only backups, drills or restores.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    """The backup summary (healthy, problems, age of the last good backup) and runs, newest
    first."""
    return {
        "status": backup_status(conn, settings=settings, now=now),
        "runs": list_runs(conn, kind=kind, limit=limit),
    }
