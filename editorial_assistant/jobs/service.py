"""What editors do to jobs: list, inspect, pause, resume, cancel, retry (all or one phase).

Every action validates the move through the state machine in ``lifecycle.py`` and records an
event in the same transaction. Actions that put a job back in the queue return ``True`` as their
second value; the front door then enqueues it (this module knows nothing of Huey).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from editorial_assistant.db import transaction
from editorial_assistant.errors import InvalidInput, InvalidTransition
from editorial_assistant.jobs.events import record_event
from editorial_assistant.jobs.lifecycle import STATUSES, get_job_or_raise, transition
from editorial_assistant.pipeline.phases import PHASE_NAMES, TIERS

LIST_COLUMNS = (
    "j.id, j.media_id, j.status, j.priority, j.attempts, j.cost_usd, j.error, "
    "j.pause_reason, j.created_at, j.started_at, j.finished_at, j.updated_at, "
    "t.original_filename AS filename"
)


def list_jobs(
    conn: sqlite3.Connection,
    *,
    status: str | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A page of jobs, newest first, and the total that match."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(
            f"Unknown status {status!r}.", hint=f"Use one of: {', '.join(STATUSES)}."
        )
    where, params = _filters(status, search)
    # The join is only needed to search file names; counting jobs alone stays fast as they grow.
    counted = "jobs j JOIN transcripts t ON t.id = j.transcript_id" if search else "jobs j"
    total = conn.execute(f"SELECT count(*) FROM {counted} {where}", params).fetchone()[0]
    rows = conn.execute(
        f"SELECT {LIST_COLUMNS} FROM jobs j JOIN transcripts t ON t.id = "
        f"j.transcript_id {where} ORDER BY j.id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    ).fetchall()
    return [dict(row) for row in rows], total


def job_detail(conn: sqlite3.Connection, *, job_id: int) -> dict[str, Any]:
    """One job with its transcript, phases and latest outputs."""
    job = dict(get_job_or_raise(conn, job_id=job_id))
    for private in ("run_token", "claimed_by"):
        job.pop(private)
    job["pause_requested"] = bool(job["pause_requested"])
    job["want_timestamps"] = bool(job["want_timestamps"])
    job["transcript"] = dict(
        conn.execute(
            "SELECT id, media_id, original_filename AS filename, format, encoding, word_count, "
            "duration_seconds, duration_estimated, size_bytes, sha256, created_at FROM transcripts "
            "WHERE id = ?",
            (job["transcript_id"],),
        ).fetchone()
    )
    job["phases"] = [
        dict(row)
        for row in conn.execute(
            "SELECT name, status, tier, tier_reason, model, attempts, prompt_tokens, "
            "completion_tokens, cost_usd, error, started_at, finished_at FROM phases "
            "WHERE job_id = ? ORDER BY position",
            (job_id,),
        )
    ]
    job["outputs"] = output_names(conn, job_id=job_id)
    job["waiting_for_slot_since"] = waiting_for_slot_since(conn, job=job)
    return job


def waiting_for_slot_since(conn: sqlite3.Connection, *, job: dict[str, Any]) -> str | None:
    """When a running job's current call began to wait for an LLM call slot, or None."""
    if job["status"] != "running":
        return None
    latest = conn.execute(
        "SELECT kind, at FROM job_events WHERE job_id = ? AND kind IN "
        "('running', 'slot_waiting', 'slot_granted') ORDER BY id DESC LIMIT 1",
        (job["id"],),
    ).fetchone()
    return latest["at"] if latest is not None and latest["kind"] == "slot_waiting" else None


def output_names(conn: sqlite3.Connection, *, job_id: int) -> list[str]:
    """Names of a job's outputs, in phase order."""
    rows = conn.execute(
        "SELECT DISTINCT o.name FROM outputs o JOIN phases p ON p.job_id = o.job_id AND "
        "p.name = o.phase WHERE o.job_id = ? ORDER BY p.position",
        (job_id,),
    )
    return [row[0] for row in rows]


def pause_job(conn: sqlite3.Connection, *, job_id: int, now: datetime) -> bool:
    """Pause a queued job now, or ask a running one to pause at its next checkpoint."""
    with transaction(conn):
        job = get_job_or_raise(conn, job_id=job_id)
        if job["status"] == "running":
            conn.execute("UPDATE jobs SET pause_requested = 1 WHERE id = ?", (job_id,))
            record_event(
                conn,
                job_id=job_id,
                kind="pause_requested",
                now=now,
                message="Pause requested; the job stops after the current step.",
            )
        elif job["status"] != "paused":
            transition(
                conn,
                job=job,
                to="paused",
                now=now,
                message="Paused by an editor.",
                pause_reason="Paused by an editor.",
            )
    return False


def resume_job(conn: sqlite3.Connection, *, job_id: int, now: datetime) -> bool:
    """Put a paused job back in the queue (or withdraw a pending pause request)."""
    with transaction(conn):
        job = get_job_or_raise(conn, job_id=job_id)
        if job["status"] == "running" and job["pause_requested"]:
            conn.execute("UPDATE jobs SET pause_requested = 0 WHERE id = ?", (job_id,))
            record_event(
                conn, job_id=job_id, kind="resumed", now=now, message="Pause request withdrawn."
            )
            return False
        if job["status"] != "paused":
            raise InvalidTransition(
                f"Job {job_id} is {job['status']}, not paused.",
                hint="Only a paused job can be resumed.",
            )
        transition(
            conn, job=job, to="queued", now=now, message="Resumed by an editor.", pause_reason=None
        )
    return True


def cancel_job(conn: sqlite3.Connection, *, job_id: int, now: datetime) -> bool:
    """Cancel a job; a running job writes nothing more after this commits."""
    with transaction(conn):
        job = get_job_or_raise(conn, job_id=job_id)
        transition(conn, job=job, to="cancelled", now=now, message="Cancelled by an editor.")
        conn.execute(
            "UPDATE phases SET status = 'pending' WHERE job_id = ? AND status = 'running'",
            (job_id,),
        )
    return False


def retry_job(conn: sqlite3.Connection, *, job_id: int, now: datetime) -> bool:
    """Re-queue a failed, cancelled or paused job; only unfinished phases run again."""
    with transaction(conn):
        job = get_job_or_raise(conn, job_id=job_id)
        if job["status"] not in ("failed", "cancelled", "paused"):
            raise InvalidTransition(
                f"Job {job_id} is {job['status']}; only failed, cancelled or paused jobs can be "
                "retried.",
                hint="To run one phase again, use the phase retry.",
            )
        conn.execute(
            "UPDATE phases SET status = 'pending', error = NULL WHERE job_id = ? AND "
            "status IN ('failed', 'running')",
            (job_id,),
        )
        transition(
            conn,
            job=job,
            to="queued",
            now=now,
            message="Retried by an editor.",
            error=None,
            pause_reason=None,
            attempts=0,
            finished_at=None,
        )
    return True


def retry_phase(
    conn: sqlite3.Connection, *, job_id: int, phase: str, now: datetime, tier: int | None = None
) -> bool:
    """Run one phase again (optionally at a forced tier); its previous output is kept."""
    if phase not in PHASE_NAMES:
        raise InvalidInput(
            f"Unknown phase {phase!r}.", hint=f"Use one of: {', '.join(PHASE_NAMES)}."
        )
    if tier is not None and tier not in TIERS:
        raise InvalidInput(
            f"Unknown tier {tier!r}.", hint="Use 0 (cheap), 1 (default) or 2 (strong)."
        )
    with transaction(conn):
        job = get_job_or_raise(conn, job_id=job_id)
        if job["status"] in ("queued", "running"):
            raise InvalidTransition(
                f"Job {job_id} is {job['status']}.",
                hint="Wait for it to finish, or pause it, then retry the phase.",
            )
        conn.execute(
            "UPDATE phases SET status = 'pending', error = NULL, forced_tier = ? "
            "WHERE job_id = ? AND name = ?",
            (tier, job_id, phase),
        )
        if phase == "timestamp":
            conn.execute("UPDATE jobs SET want_timestamps = 1 WHERE id = ?", (job_id,))
        transition(
            conn,
            job=job,
            to="queued",
            now=now,
            error=None,
            pause_reason=None,
            attempts=0,
            finished_at=None,
            message=f"Phase {phase} retried" + (f" at tier {tier}." if tier is not None else "."),
        )
    return True


def set_priority(conn: sqlite3.Connection, *, job_id: int, priority: int, now: datetime) -> bool:
    """Change a job's priority; a queued job is enqueued again at the new priority."""
    with transaction(conn):
        job = get_job_or_raise(conn, job_id=job_id)
        conn.execute("UPDATE jobs SET priority = ? WHERE id = ?", (priority, job_id))
        record_event(
            conn,
            job_id=job_id,
            kind="priority",
            now=now,
            message=f"Priority changed from {job['priority']} to {priority}.",
        )
    return job["status"] == "queued"


def _filters(status: str | None, search: str | None) -> tuple[str, tuple[Any, ...]]:
    clauses, params = [], []
    if status:
        clauses.append("j.status = ?")
        params.append(status)
    if search:
        clauses.append("(j.media_id LIKE ? ESCAPE '\\' OR t.original_filename LIKE ? ESCAPE '\\')")
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params += [pattern, pattern]
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)
