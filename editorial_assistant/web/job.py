"""``GET /jobs/{id}``: one job — header, phases, drafts, actions, timeline, why it stopped; and
``GET /jobs/{id}/drafts``, the same header and drafts alone, for printing.

The page only reads; its buttons post to the job API (``/api/jobs/...``), which checks roles,
CSRF and the job's state again. Write controls appear only to someone who may change this Media
ID's jobs (a global editor or admin, or a project grant of editor or owner).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from editorial_assistant import deps
from editorial_assistant.auth.rules import allow, job_project
from editorial_assistant.config import Settings
from editorial_assistant.jobs.events import list_events
from editorial_assistant.jobs.router import JobId
from editorial_assistant.jobs.service import job_detail
from editorial_assistant.pipeline.phases import PHASE_BY_NAME, TIER_NAMES
from editorial_assistant.web import job_view
from editorial_assistant.web.live import cursor
from editorial_assistant.web.render import may_edit_project, page, seconds_between

router = APIRouter(include_in_schema=False)
READ = [allow("viewer", page=True, project=job_project)]
EVENT_LIMIT = 500


@router.get("/jobs/{job_id}", response_class=HTMLResponse, dependencies=READ)
def job_page(
    request: Request,
    job_id: JobId,
    conn: sqlite3.Connection = Depends(deps.conn),
    settings: Settings = Depends(deps.settings),
) -> HTMLResponse:
    """Everything about one job, kept current while the worker runs it."""
    job = job_detail(conn, job_id=job_id)
    events = list_events(conn, job_id=job_id, limit=EVENT_LIMIT)
    return page(
        request,
        "job.html",
        **_header(request, conn, settings, job),
        status_line=job_view.status_line(job),
        stopped=job_view.explain_stop(job),
        actions=job_view.actions(job),
        events=events,
        events_cut=len(events) == EVENT_LIMIT,
        cursor=cursor(conn, job_id),
    )


@router.get("/jobs/{job_id}/drafts", response_class=HTMLResponse, dependencies=READ)
def drafts_page(
    request: Request,
    job_id: JobId,
    conn: sqlite3.Connection = Depends(deps.conn),
    settings: Settings = Depends(deps.settings),
) -> HTMLResponse:
    """The job's header and drafts alone: what to print or save as PDF."""
    job = job_detail(conn, job_id=job_id)
    return page(request, "job_drafts.html", **_header(request, conn, settings, job))


def _header(
    request: Request, conn: sqlite3.Connection, settings: Settings, job: dict[str, Any]
) -> dict[str, Any]:
    """What both pages show: the job, its timings and its drafts."""
    return {
        "job": job,
        "may_edit": may_edit_project(request, conn, job["media_id"]),
        "run_seconds": seconds_between(job["started_at"], job["finished_at"]),
        "drafts": job_view.drafts(conn, data_dir=settings.data_dir, job=job),
        "phase_by_name": PHASE_BY_NAME,
        "tier_names": TIER_NAMES,
    }
