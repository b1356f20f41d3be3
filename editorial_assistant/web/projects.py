"""``GET /projects``: every Media ID with its jobs, drafts and cost; ``GET /projects/{media_id}``:
one Media ID's jobs and who holds grants on it, with the grant forms for its owners and admins.

Grants change through ``PUT/DELETE /api/projects/{media_id}/access/{username}``. A form cannot
put a typed username into its API address, so giving a new person access takes two steps: the
page is asked again with ``?grant=<username>`` and then shows that person's grant form.
"""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from editorial_assistant import deps
from editorial_assistant.auth.grants import check_media_id, list_grants, project_role
from editorial_assistant.auth.roles import PROJECT_ROLES, Actor
from editorial_assistant.auth.rules import allow
from editorial_assistant.auth.users import USERNAME, get_user
from editorial_assistant.jobs.lifecycle import STATUSES
from editorial_assistant.jobs.projects import list_projects, project_jobs
from editorial_assistant.patterns import PLAIN_TEXT
from editorial_assistant.web.render import page

router = APIRouter(include_in_schema=False)
PER_PAGE = 25
Search = Annotated[str, Query(max_length=100, pattern=PLAIN_TEXT)]
Username = Annotated[str, Query(max_length=100, pattern=PLAIN_TEXT)]


@router.get("/projects", response_class=HTMLResponse, dependencies=[allow("viewer", page=True)])
def projects_page(
    request: Request,
    conn: sqlite3.Connection = Depends(deps.conn),
    q: Search = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=10**6)] = 1,
) -> HTMLResponse:
    """Media IDs, the most recently active first."""
    search = q.strip()
    projects, total = list_projects(
        conn, search=search or None, limit=PER_PAGE, offset=(page_number - 1) * PER_PAGE
    )
    pages = max(1, -(-total // PER_PAGE))
    return page(
        request,
        "projects.html",
        projects=projects,
        total=total,
        q=search,
        page_number=page_number,
        pages=pages,
        statuses=STATUSES,
    )


@router.get(
    "/projects/{media_id}", response_class=HTMLResponse, dependencies=[allow("viewer", page=True)]
)
def project_page(
    request: Request,
    media_id: str,
    conn: sqlite3.Connection = Depends(deps.conn),
    grant: Username = "",
) -> HTMLResponse:
    """One Media ID's jobs, newest first, and its grants."""
    check_media_id(media_id)
    jobs = project_jobs(conn, media_id=media_id)
    grants = list_grants(conn, media_id=media_id)
    manages = may_manage_project(request.state.actor, conn, media_id)
    return page(
        request,
        "project.html",
        media_id=media_id,
        jobs=jobs,
        total_cost=sum(job["cost_usd"] for job in jobs),
        last_activity=max(job["updated_at"] for job in jobs),
        grants=grants,
        owners=[row["username"] for row in grants if row["role"] == "owner"],
        manages=manages,
        roles=PROJECT_ROLES,
        grantee=grantee(conn, grant) if manages and grant.strip() else None,
    )


def may_manage_project(actor: Actor, conn: sqlite3.Connection, media_id: str) -> bool:
    """Whether the caller may change grants on ``media_id``: an admin, or one of its owners."""
    if actor.role == "admin":
        return True
    if actor.user_id is None:
        return False
    return project_role(conn, user_id=actor.user_id, media_id=media_id) == "owner"


def grantee(conn: sqlite3.Connection, asked: str) -> dict[str, Any]:
    """The account a manager asked to give access to, or why there is none."""
    name = asked.strip().lower()
    user = get_user(conn, username=name) if USERNAME.fullmatch(name) else None
    return {"asked": asked.strip(), "user": user}
