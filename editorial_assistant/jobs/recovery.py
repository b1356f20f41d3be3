"""Finding jobs whose worker died and putting them back in the queue.

Huey has no acknowledgements: a task running when its process dies is gone. So a job's durability
lives here: on worker start and every minute, a running job whose heartbeat is stale, or whose
worker process on this host no longer exists, is re-queued, until it has used its attempts.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from editorial_assistant.db import timestamp, transaction
from editorial_assistant.jobs.lifecycle import get_job_or_raise, transition


def worker_identity(token: str) -> str:
    """How a worker names itself on the jobs it claims: host, pid and a per-start token."""
    return f"{socket.gethostname()}:{os.getpid()}:{token}"


def worker_is_alive(worker_id: str) -> bool:
    """False only when the worker ran on this host and its process is gone."""
    host, _, rest = worker_id.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_stale_jobs(
    conn: sqlite3.Connection,
    *,
    now: datetime,
    stale_after_seconds: float,
    max_attempts: int,
    me: str = "",
    alive: Callable[[str], bool] = worker_is_alive,
) -> list[int]:
    """Re-queue (or fail) running jobs whose worker is gone; return the ids re-queued."""
    cutoff = timestamp(now - timedelta(seconds=stale_after_seconds))
    requeued = []
    with transaction(conn):
        rows = conn.execute(
            "SELECT id, claimed_by, heartbeat_at FROM jobs WHERE status = 'running'"
        ).fetchall()
        for row in rows:
            stale = (row["heartbeat_at"] or "") < cutoff
            orphaned = row["claimed_by"] != me and not alive(row["claimed_by"] or "")
            if (stale or orphaned) and _requeue_or_fail(conn, row["id"], now, max_attempts):
                requeued.append(row["id"])
    return requeued


def release_jobs_of(
    conn: sqlite3.Connection, *, worker_id: str, now: datetime, reason: str
) -> list[int]:
    """Put back every job a stopping worker still holds; return their ids."""
    with transaction(conn):
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM jobs WHERE status = 'running' AND claimed_by = ?", (worker_id,)
            )
        ]
        for job_id in ids:
            job = get_job_or_raise(conn, job_id=job_id)
            # A graceful hand-back is not a failed attempt (unlike a worker that died).
            attempts = max(job["attempts"] - 1, 0)
            transition(conn, job=job, to="queued", now=now, message=reason, attempts=attempts)
            _reset_running_phases(conn, job_id)
    return ids


def queued_job_ids(conn: sqlite3.Connection) -> list[tuple[int, int]]:
    """(id, priority) of every queued job, for re-enqueueing after a queue loss."""
    return [
        (row[0], row[1])
        for row in conn.execute(
            "SELECT id, priority FROM jobs WHERE status = 'queued' ORDER BY priority DESC, id"
        )
    ]


def _requeue_or_fail(
    conn: sqlite3.Connection, job_id: int, now: datetime, max_attempts: int
) -> bool:
    job = get_job_or_raise(conn, job_id=job_id)
    _reset_running_phases(conn, job_id)
    if job["attempts"] >= max_attempts:
        transition(
            conn,
            job=job,
            to="failed",
            now=now,
            message=f"Failed: the worker stopped responding {job['attempts']} times.",
            error=f"The worker stopped responding on each of {job['attempts']} attempts.",
        )
        return False
    transition(
        conn, job=job, to="queued", now=now, message="Re-queued: its worker stopped responding."
    )
    return True


def _reset_running_phases(conn: sqlite3.Connection, job_id: int) -> None:
    conn.execute(
        "UPDATE phases SET status = 'pending' WHERE job_id = ? AND status = 'running'", (job_id,)
    )
