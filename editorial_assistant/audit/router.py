"""``GET /api/audit``: the audit log for admins, newest first, filtered and paged."""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from editorial_assistant import deps
from editorial_assistant.audit.events import Action
from editorial_assistant.audit.schemas import AuditPage
from editorial_assistant.audit.service import list_entries
from editorial_assistant.auth.rules import allow
from editorial_assistant.patterns import ISO_MOMENT

router = APIRouter(prefix="/api", tags=["audit"])
Text = Annotated[str | None, Query(max_length=200)]
Moment = Annotated[
    str | None,
    Query(max_length=40, pattern=ISO_MOMENT, description="ISO 8601, UTC."),
]


@router.get("/audit", response_model=AuditPage, dependencies=[allow("admin")])
def audit_log(
    conn: sqlite3.Connection = Depends(deps.conn),
    actor: Text = None,
    action: Annotated[Action | None, Query()] = None,
    resource_type: Text = None,
    resource_id: Text = None,
    since: Moment = None,
    until: Moment = None,
    before: Annotated[
        int | None, Query(ge=1, le=2**62, description="Entries older than this id.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Audit entries, newest first; pass the last id as ``before`` for the next page."""
    entries = list_entries(
        conn,
        limit=limit,
        actor=actor,
        action=action.value if action else None,
        resource_type=resource_type,
        resource_id=resource_id,
        since=since,
        until=until,
        before_id=before,
    )
    more = len(entries) == limit
    return {"entries": entries, "next_before": entries[-1]["id"] if more else None}
