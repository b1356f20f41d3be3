"""The job endpoints: list, detail, actions, events and outputs."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.responses import PlainTextResponse

from editorial_assistant import deps
from editorial_assistant.audit.events import JOB_ACTIONS, Action
from editorial_assistant.audit.service import Who, audited
from editorial_assistant.auth.rules import allow, job_project
from editorial_assistant.config import Settings
from editorial_assistant.errors import ErrorOut
from editorial_assistant.jobs import service
from editorial_assistant.jobs.events import list_events
from editorial_assistant.jobs.lifecycle import get_job_or_raise
from editorial_assistant.jobs.schemas import EventPage, JobOut, JobPage, PhaseRetryIn, PriorityIn
from editorial_assistant.jobs.tasks import JobQueue
from editorial_assistant.patterns import PLAIN_TEXT
from editorial_assistant.pipeline.outputs import read_output

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut},
    409: {"model": ErrorOut},
    422: {"model": ErrorOut},
}
router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=ERRORS)
JobId = Annotated[int, Path(ge=1, le=2**62, description="The job's id.")]
ACTIONS = {
    "pause": service.pause_job,
    "resume": service.resume_job,
    "cancel": service.cancel_job,
    "retry": service.retry_job,
}
READ = [allow("viewer", project=job_project)]
CHANGE = [allow("editor", project=job_project)]


@router.get("", response_model=JobPage, dependencies=[allow("viewer")])
def list_jobs(
    conn: sqlite3.Connection = Depends(deps.conn),
    status: Annotated[str | None, Query(description="Only jobs in this state.")] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=PLAIN_TEXT,
            description="Media ID or file name contains (no control characters).",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> dict[str, object]:
    """Jobs, newest first."""
    jobs, total = service.list_jobs(conn, status=status, search=q, limit=limit, offset=offset)
    return {"jobs": jobs, "total": total, "limit": limit, "offset": offset}


@router.get("/{job_id}", response_model=JobOut, dependencies=READ)
def get_job(job_id: JobId, conn: sqlite3.Connection = Depends(deps.conn)) -> dict[str, object]:
    """One job with its phases, costs and outputs."""
    return service.job_detail(conn, job_id=job_id)


@router.post("/{job_id}/{action}", response_model=JobOut, dependencies=CHANGE)
def act_on_job(
    job_id: JobId,
    action: Annotated[str, Path(pattern="^(pause|resume|cancel|retry)$")],
    conn: sqlite3.Connection = Depends(deps.conn),
    queue: JobQueue = Depends(deps.queue),
    now: datetime = Depends(deps.now),
    who: Who = Depends(deps.who),
) -> dict[str, object]:
    """Pause, resume, cancel or retry a job."""
    event = JOB_ACTIONS[action]
    with audited(conn, who=who, action=event, now=now, resource_type="job", resource_id=job_id):
        changed = ACTIONS[action](conn, job_id=job_id, now=now)
    if changed:
        queue.enqueue(job_id, get_job_or_raise(conn, job_id=job_id)["priority"])
    return service.job_detail(conn, job_id=job_id)


@router.post("/{job_id}/phases/{phase}/retry", response_model=JobOut, dependencies=CHANGE)
def retry_phase(
    job_id: JobId,
    phase: Annotated[str, Path(max_length=40)],
    body: Annotated[PhaseRetryIn | None, Body()] = None,
    conn: sqlite3.Connection = Depends(deps.conn),
    queue: JobQueue = Depends(deps.queue),
    now: datetime = Depends(deps.now),
    who: Who = Depends(deps.who),
) -> dict[str, object]:
    """Run one phase again, optionally at a forced tier; the previous output is kept."""
    tier = body.tier if body else None
    with audited(
        conn, who=who, action=Action.PHASE_RETRIED, now=now, resource_type="job", resource_id=job_id
    ) as details:
        details.update(phase=phase, tier=tier)
        service.retry_phase(conn, job_id=job_id, phase=phase, tier=tier, now=now)
    queue.enqueue(job_id, get_job_or_raise(conn, job_id=job_id)["priority"])
    return service.job_detail(conn, job_id=job_id)


@router.patch("/{job_id}", response_model=JobOut, dependencies=CHANGE)
def change_priority(
    job_id: JobId,
    body: PriorityIn,
    conn: sqlite3.Connection = Depends(deps.conn),
    queue: JobQueue = Depends(deps.queue),
    now: datetime = Depends(deps.now),
    who: Who = Depends(deps.who),
) -> dict[str, object]:
    """Change a job's priority."""
    with audited(
        conn,
        who=who,
        action=Action.PRIORITY_CHANGED,
        now=now,
        resource_type="job",
        resource_id=job_id,
    ) as details:
        details["priority"] = body.priority
        changed = service.set_priority(conn, job_id=job_id, priority=body.priority, now=now)
    if changed:
        queue.enqueue(job_id, body.priority)
    return service.job_detail(conn, job_id=job_id)


@router.get("/{job_id}/events", response_model=EventPage, dependencies=READ)
def job_events(
    job_id: JobId,
    conn: sqlite3.Connection = Depends(deps.conn),
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> dict[str, object]:
    """The job's timeline, oldest first (pass ``after`` to get only newer events)."""
    get_job_or_raise(conn, job_id=job_id)
    return {"events": list_events(conn, job_id=job_id, after_id=after)}


@router.get(
    "/{job_id}/outputs/{name}",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/markdown": {}}}},
    dependencies=READ,
)
def job_output(
    job_id: JobId,
    name: Annotated[str, Path(max_length=60)],
    version: Annotated[int | None, Query(ge=1, le=10**6)] = None,
    conn: sqlite3.Connection = Depends(deps.conn),
    settings: Settings = Depends(deps.settings),
) -> PlainTextResponse:
    """One output as Markdown (the latest version unless ``version`` is given)."""
    get_job_or_raise(conn, job_id=job_id)
    text, row = read_output(
        conn, data_dir=settings.data_dir, job_id=job_id, name=name, version=version
    )
    return PlainTextResponse(
        text,
        media_type="text/markdown; charset=utf-8",
        headers={"X-Output-Version": str(row["version"])},
    )
