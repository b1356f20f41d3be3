"""``GET /api/system/status``: for admins, the same components ``editorial-assistant status``
prints."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends

from editorial_assistant import deps
from editorial_assistant.auth.rules import allow
from editorial_assistant.config import Settings
from editorial_assistant.monitoring.status import status_document, system_status, under_systemd

router = APIRouter(prefix="/api/system", tags=["system"])


@router.get("/status", summary="Health at a glance", dependencies=[allow("admin")])
def system_status_route(
    conn: sqlite3.Connection = Depends(deps.conn),
    settings: Settings = Depends(deps.settings),
    now: datetime = Depends(deps.now),
) -> dict[str, Any]:
    """Each component ok, warn or fail with the reason; ``level`` is the worst of them."""
    found = system_status(conn, settings=settings, now=now, systemd=under_systemd())
    return status_document(found, now=now)
