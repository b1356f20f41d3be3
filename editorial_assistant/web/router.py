"""``GET /``: the landing page."""

from __future__ import annotations

import sqlite3

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from editorial_assistant import deps
from editorial_assistant.auth.rules import allow
from editorial_assistant.jobs.service import list_jobs, output_names
from editorial_assistant.web.pages import landing_page

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse, dependencies=[allow("viewer", page=True)])
def home(request: Request, conn: sqlite3.Connection = Depends(deps.conn)) -> str:
    """The latest jobs and how to submit more."""
    jobs, _total = list_jobs(conn, limit=20)
    outputs = {job["id"]: output_names(conn, job_id=job["id"]) for job in jobs}
    return landing_page(jobs, outputs, str(request.base_url).rstrip("/"))
