"""``/healthz`` (the process answers) and ``/readyz`` (database and queue answer)."""

from __future__ import annotations

import sqlite3

from fastapi import APIRouter, Depends

from editorial_assistant import __version__, deps
from editorial_assistant.auth.rules import public
from editorial_assistant.jobs.tasks import JobQueue
from editorial_assistant.ops.service import readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up", dependencies=[public(rate_limited=False)])
def healthz() -> dict[str, str]:
    """Always 200 while the process can answer."""
    return {"status": "ok", "version": __version__}


@router.get(
    "/readyz",
    summary="The database and the queue answer",
    dependencies=[public(rate_limited=False)],
)
def readyz(
    conn: sqlite3.Connection = Depends(deps.conn), queue: JobQueue = Depends(deps.queue)
) -> dict[str, object]:
    """200 when the service can do work, else 503 in the error shape."""
    return readiness(conn, queue_pending=queue.pending)
