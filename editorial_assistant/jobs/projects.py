"""Projects: every job of one Media ID taken together, for the dashboard's project pages.

A project is not stored; it is the jobs that share a Media ID. The list groups ``jobs`` by
``media_id`` (the ``jobs_media_id`` index) in one query, newest activity first, and looks up
the latest job and the drafts only for the page of projects shown.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from editorial_assistant.errors import NotFound
from editorial_assistant.jobs.lifecycle import STATUSES
from editorial_assistant.jobs.service import LIST_COLUMNS, output_names

# The statuses are the lifecycle's fixed words, never input, so they may name columns.
STATUS_COUNTS = ", ".join(f"sum(status = '{status}') AS {status}" for status in STATUSES)


def list_projects(
    conn: sqlite3.Connection, *, search: str | None = None, limit: int = 25, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """A page of Media IDs, the most recently active first, and how many match."""
    where, params = _media_filter(search)
    total = conn.execute(f"SELECT count(DISTINCT media_id) FROM jobs {where}", params).fetchone()
    rows = conn.execute(
        f"SELECT media_id, count(*) AS jobs, {STATUS_COUNTS}, max(id) AS latest_job_id, "
        "sum(cost_usd) AS cost_usd, max(updated_at) AS last_activity FROM jobs "
        f"{where} GROUP BY media_id ORDER BY last_activity DESC, media_id LIMIT ? OFFSET ?",
        (*params, limit, offset),
    ).fetchall()
    projects = [_project(dict(row)) for row in rows]
    latest = _latest_jobs(conn, [project["latest_job_id"] for project in projects])
    newest_with_drafts = _newest_with_drafts(conn, [project["media_id"] for project in projects])
    for project in projects:
        project["latest_job"] = latest[project.pop("latest_job_id")]
        job_id = newest_with_drafts.get(project["media_id"])
        project["drafts"] = _drafts_of(conn, job_id) if job_id is not None else None
    return projects, int(total[0])


def project_jobs(conn: sqlite3.Connection, *, media_id: str) -> list[dict[str, Any]]:
    """Every job of ``media_id``, newest first, each with its drafts' names."""
    rows = conn.execute(
        f"SELECT {LIST_COLUMNS} FROM jobs j JOIN transcripts t ON t.id = j.transcript_id "
        "WHERE j.media_id = ? ORDER BY j.id DESC",
        (media_id,),
    ).fetchall()
    if not rows:
        raise NotFound(
            f"There are no jobs for Media ID {media_id}.",
            hint="Check the Media ID, or upload its caption file from the queue.",
        )
    return [{**dict(row), "drafts": output_names(conn, job_id=row["id"])} for row in rows]


def _project(row: dict[str, Any]) -> dict[str, Any]:
    counts = {status: row.pop(status) for status in STATUSES}
    return {**row, "counts": {status: n for status, n in counts.items() if n}}


def _latest_jobs(conn: sqlite3.Connection, job_ids: list[int]) -> dict[int, dict[str, Any]]:
    marks = ", ".join("?" * len(job_ids))
    rows = conn.execute(
        "SELECT j.id, j.status, j.created_at, t.original_filename AS filename FROM jobs j "
        f"JOIN transcripts t ON t.id = j.transcript_id WHERE j.id IN ({marks})",
        job_ids,
    )
    return {row["id"]: dict(row) for row in rows}


def _newest_with_drafts(conn: sqlite3.Connection, media_ids: list[str]) -> dict[str, int]:
    """Each Media ID's newest job that has written an output."""
    marks = ", ".join("?" * len(media_ids))
    rows = conn.execute(
        "SELECT j.media_id, max(j.id) FROM jobs j WHERE j.media_id IN "
        f"({marks}) AND EXISTS (SELECT 1 FROM outputs o WHERE o.job_id = j.id) "
        "GROUP BY j.media_id",
        media_ids,
    )
    return {row[0]: row[1] for row in rows}


def _drafts_of(conn: sqlite3.Connection, job_id: int) -> dict[str, Any]:
    return {"job_id": job_id, "names": output_names(conn, job_id=job_id)}


def _media_filter(search: str | None) -> tuple[str, tuple[str, ...]]:
    if not search:
        return "", ()
    pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return "WHERE media_id LIKE ? ESCAPE '\\'", (pattern,)
