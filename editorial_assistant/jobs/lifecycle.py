"""The job state machine and the worker's side of it: claim, heartbeat, finish, fail, release.

A job's truth is its row. ``TRANSITIONS`` lists every allowed move; ``transition`` refuses the
rest ("complete a cancelled job" raises). A worker claims a queued job with a fresh ``run_token``;
every later write by that run checks the token, so a run that lost its claim (cancelled,
re-queued after a stale heartbeat) cannot write anything more.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime
from typing import Any

from editorial_assistant.db import timestamp, transaction
from editorial_assistant.errors import InvalidTransition, NotFound
from editorial_assistant.jobs.events import record_event

STATUSES = ("queued", "running", "completed", "failed", "paused", "cancelled")
TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "paused", "cancelled"}),
    "running": frozenset({"completed", "failed", "paused", "cancelled", "queued"}),
    "paused": frozenset({"queued", "cancelled"}),
    "failed": frozenset({"queued", "cancelled"}),
    "cancelled": frozenset({"queued"}),
    "completed": frozenset({"queued"}),
}
FINISHED = ("completed", "failed", "cancelled")


def get_job(conn: sqlite3.Connection, *, job_id: int) -> sqlite3.Row | None:
    """The job row, or None."""
    return conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()


def get_job_or_raise(conn: sqlite3.Connection, *, job_id: int) -> sqlite3.Row:
    """The job row, or ``NotFound``."""
    job = get_job(conn, job_id=job_id)
    if job is None:
        raise NotFound(f"There is no job {job_id}.", hint="List jobs with GET /api/jobs.")
    return job


def transition(
    conn: sqlite3.Connection,
    *,
    job: sqlite3.Row,
    to: str,
    now: datetime,
    message: str,
    **fields: Any,
) -> None:
    """Move a job to ``to`` (inside the caller's transaction), recording an event."""
    if to not in TRANSITIONS[job["status"]]:
        raise InvalidTransition(
            f"Job {job['id']} is {job['status']}; it cannot become {to}.",
            hint=f"From {job['status']} a job can become: "
            f"{', '.join(sorted(TRANSITIONS[job['status']]))}.",
        )
    values = {"status": to, "updated_at": timestamp(now), **fields}
    if to == "queued":
        values.setdefault("queued_at", timestamp(now))
        values.update(run_token=None, claimed_by=None, pause_requested=0)
    if to in FINISHED:
        values.setdefault("finished_at", timestamp(now))
    assignments = ", ".join(f"{column} = ?" for column in values)
    conn.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*values.values(), job["id"]))
    record_event(
        conn, job_id=job["id"], kind=to, message=message, now=now, data={"from": job["status"]}
    )


def claim_job(
    conn: sqlite3.Connection, *, job_id: int, worker_id: str, now: datetime
) -> str | None:
    """Take a queued job for this worker; return the run token, or None if it is not queued."""
    with transaction(conn):
        job = get_job(conn, job_id=job_id)
        if job is None or job["status"] != "queued":
            return None
        token = uuid.uuid4().hex
        transition(
            conn,
            job=job,
            to="running",
            now=now,
            message=f"Started (attempt {job['attempts'] + 1}).",
            run_token=token,
            claimed_by=worker_id,
            heartbeat_at=timestamp(now),
            attempts=job["attempts"] + 1,
            started_at=job["started_at"] or timestamp(now),
            error=None,
            pause_reason=None,
        )
        return token


def owned_job(conn: sqlite3.Connection, *, job_id: int, run_token: str) -> sqlite3.Row | None:
    """The job if this run still owns it (running, same token); else None."""
    job = get_job(conn, job_id=job_id)
    if job is None or job["status"] != "running" or job["run_token"] != run_token:
        return None
    return job


def heartbeat(conn: sqlite3.Connection, *, worker_id: str, now: datetime) -> int:
    """Mark every job this worker runs as alive; return how many."""
    with transaction(conn):
        cursor = conn.execute(
            "UPDATE jobs SET heartbeat_at = ? WHERE status = 'running' AND claimed_by = ?",
            (timestamp(now), worker_id),
        )
        return cursor.rowcount


def finish_run(
    conn: sqlite3.Connection,
    *,
    job_id: int,
    run_token: str,
    to: str,
    now: datetime,
    message: str,
    **fields: Any,
) -> bool:
    """End this run by moving the job to ``to``; False if the run no longer owns the job."""
    with transaction(conn):
        job = owned_job(conn, job_id=job_id, run_token=run_token)
        if job is None:
            return False
        transition(conn, job=job, to=to, now=now, message=message, **fields)
        conn.execute(
            "UPDATE phases SET status = 'pending' WHERE job_id = ? AND status = 'running'",
            (job_id,),
        )
        return True
