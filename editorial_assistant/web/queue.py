"""``GET /``: the queue — status tabs with counts, search, upload, priority, cancel, pages."""

from __future__ import annotations

import sqlite3
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from editorial_assistant import deps
from editorial_assistant.auth.rules import allow
from editorial_assistant.jobs.lifecycle import FINISHED, STATUSES
from editorial_assistant.jobs.service import list_jobs
from editorial_assistant.patterns import PLAIN_TEXT
from editorial_assistant.web.live import cursor
from editorial_assistant.web.render import page

router = APIRouter(include_in_schema=False)
PER_PAGE = 25
StatusTab = Annotated[
    str,
    Query(pattern=f"^(all|{'|'.join(STATUSES)})$", description="Which tab: all or a status."),
]
Search = Annotated[str, Query(max_length=200, pattern=PLAIN_TEXT)]


@router.get("/", response_class=HTMLResponse, dependencies=[allow("viewer", page=True)])
def queue_page(
    request: Request,
    conn: sqlite3.Connection = Depends(deps.conn),
    status: StatusTab = "all",
    q: Search = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=10**6)] = 1,
) -> HTMLResponse:
    """The jobs, newest first, in tabs by status."""
    search = q.strip()
    jobs, total = list_jobs(
        conn,
        status=None if status == "all" else status,
        search=search or None,
        limit=PER_PAGE,
        offset=(page_number - 1) * PER_PAGE,
    )
    pages = max(1, -(-total // PER_PAGE))
    return page(
        request,
        "queue.html",
        jobs=jobs,
        total=total,
        tabs=status_tabs(conn),
        status=status,
        q=search,
        page_number=page_number,
        pages=pages,
        finished=FINISHED,
        cursor=cursor(conn),
    )


def status_tabs(conn: sqlite3.Connection) -> list[tuple[str, str, int]]:
    """(value, label, count) for "All" and each status, in the lifecycle's order."""
    counts = dict(conn.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())
    tabs = [("all", "All", sum(counts.values()))]
    tabs += [(name, name.capitalize(), counts.get(name, 0)) for name in STATUSES]
    return tabs
