"""``editorial-assistant jobs …``: list, show and act on jobs from the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from editorial_assistant.audit.events import JOB_ACTIONS, Action
from editorial_assistant.audit.service import Who, audited
from editorial_assistant.config import Settings
from editorial_assistant.db import Database
from editorial_assistant.jobs import service
from editorial_assistant.jobs.lifecycle import get_job_or_raise
from editorial_assistant.jobs.tasks import JobQueue, make_huey

Echo = Callable[..., None]
ACTIONS = {
    "pause": service.pause_job,
    "resume": service.resume_job,
    "cancel": service.cancel_job,
    "retry": service.retry_job,
}


def print_job_list(
    db: Database, *, status: str | None, search: str | None, limit: int, as_json: bool, echo: Echo
) -> None:
    """Print a page of jobs as a table or JSON."""
    jobs, total = service.list_jobs(db.conn(), status=status, search=search, limit=limit)
    if as_json:
        echo(json.dumps({"jobs": jobs, "total": total}, indent=2))
        return
    echo(f"{'ID':>6}  {'STATUS':<10} {'PRI':>4}  {'MEDIA ID':<40} {'COST':>8}  CREATED")
    for job in jobs:
        echo(
            f"{job['id']:>6}  {job['status']:<10} {job['priority']:>4}  "
            f"{job['media_id'][:40]:<40} {job['cost_usd']:>8.4f}  {job['created_at'][:19]}"
        )
    echo(f"{len(jobs)} of {total} job(s)")


def print_job(db: Database, *, job_id: int, as_json: bool, echo: Echo) -> None:
    """Print one job's detail."""
    job = service.job_detail(db.conn(), job_id=job_id)
    if as_json:
        echo(json.dumps(job, indent=2))
        return
    echo(_job_text(job))


def act(
    settings: Settings,
    db: Database,
    action: str,
    *,
    job_id: int,
    who: Who,
    now: datetime,
    echo: Echo,
) -> None:
    """Pause, resume, cancel or retry a job and say what it is now."""
    with audited(
        db.conn(),
        who=who,
        action=JOB_ACTIONS[action],
        now=now,
        resource_type="job",
        resource_id=job_id,
    ):
        changed = ACTIONS[action](db.conn(), job_id=job_id, now=now)
    if changed:
        _enqueue(settings, db, job_id)
    job = get_job_or_raise(db.conn(), job_id=job_id)
    note = " (stops after its current step)" if job["pause_requested"] else ""
    echo(f"job {job_id} is {job['status']}{note}")


def retry_one_phase(
    settings: Settings,
    db: Database,
    *,
    job_id: int,
    phase: str,
    tier: int | None,
    who: Who,
    now: datetime,
    echo: Echo,
) -> None:
    """Queue one phase of a job to run again."""
    with audited(
        db.conn(),
        who=who,
        action=Action.PHASE_RETRIED,
        now=now,
        resource_type="job",
        resource_id=job_id,
    ) as details:
        details.update(phase=phase, tier=tier)
        service.retry_phase(db.conn(), job_id=job_id, phase=phase, tier=tier, now=now)
    _enqueue(settings, db, job_id)
    echo(f"job {job_id} is queued to run {phase} again")


def _enqueue(settings: Settings, db: Database, job_id: int) -> None:
    priority = get_job_or_raise(db.conn(), job_id=job_id)["priority"]
    JobQueue(make_huey(settings)).enqueue(job_id, priority)


def _job_text(job: dict[str, Any]) -> str:
    transcript = job["transcript"]
    lines = [
        f"job {job['id']}  {job['media_id']}  {job['status']}  priority {job['priority']}",
        f"  file: {transcript['filename']} ({transcript['format']}, "
        f"{transcript['word_count']} words, {transcript['duration_seconds'] / 60:.1f} min)",
        f"  cost: ${job['cost_usd']:.4f}   attempts: {job['attempts']}",
    ]
    if job["error"] or job["pause_reason"]:
        lines.append(f"  note: {job['error'] or job['pause_reason']}")
    for phase in job["phases"]:
        tier = "-" if phase["tier"] is None else phase["tier"]
        lines.append(
            f"  {phase['name']:<10} {phase['status']:<10} tier {tier}  "
            f"{phase['model'] or '-':<12} ${phase['cost_usd']:.4f}"
        )
    lines.append(f"  outputs: {', '.join(job['outputs']) or 'none yet'}")
    return "\n".join(lines)
