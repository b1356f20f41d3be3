"""Huey tasks: the thin front door between the queue and ``pipeline.service.run_job``.

Tasks carry only a job id and are idempotent: running one for a job that is not queued does
nothing. So the queue may hold duplicates safely, and the worker can rebuild it from the
database at start. The periodic task re-queues jobs whose worker died and enqueues any queued
job that has no queue message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from huey import SqliteHuey, crontab

from editorial_assistant.config import Settings
from editorial_assistant.db import Database, utcnow
from editorial_assistant.jobs.recovery import queued_job_ids, recover_stale_jobs

log = logging.getLogger(__name__)


def make_huey(settings: Settings) -> SqliteHuey:
    """The Huey instance on its own database file, results off (state lives in our tables)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        name="editorial-assistant",
        filename=str(settings.queue_path),
        journal_mode="wal",
        timeout=10,
        results=False,
        utc=True,
    )


class JobQueue:
    """Enqueues jobs; in the worker process it also runs them through ``job_runner``."""

    def __init__(self, huey: SqliteHuey) -> None:
        self.huey = huey
        self.job_runner: Callable[[int], str] | None = None
        self.recovery: Callable[[], list[int]] | None = None
        self._run_task = huey.task(name="run_job")(self._run)
        huey.periodic_task(crontab(minute="*"), name="recover_stale_jobs")(self._recover)

    def enqueue(self, job_id: int, priority: int = 0) -> None:
        """Ask the worker to run a job (a no-op if the job is no longer queued then)."""
        self._run_task(job_id, priority=priority)

    def pending(self) -> int:
        """How many task messages wait in the queue (duplicates included)."""
        return int(self.huey.pending_count())

    def enqueued_job_ids(self) -> set[int]:
        """Job ids with a message waiting in the queue."""
        return {task.args[0] for task in self.huey.pending() if task.name == "run_job"}

    def _run(self, job_id: int) -> None:
        if self.job_runner is None:
            raise RuntimeError("run_job executed outside the worker")
        outcome = self.job_runner(job_id)
        log.info("job %s: %s", job_id, outcome)

    def _recover(self) -> None:
        if self.recovery is not None:
            self.recovery()


def recover_and_enqueue(queue: JobQueue, db: Database, settings: Settings, me: str) -> list[int]:
    """Re-queue jobs whose worker died and put them back on the Huey queue."""
    ids = recover_stale_jobs(
        db.conn(),
        now=utcnow(),
        stale_after_seconds=settings.jobs.stale_after_seconds,
        max_attempts=settings.jobs.max_attempts,
        me=me,
    )
    for job_id in ids:
        priority = (
            db.conn().execute("SELECT priority FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
        )
        queue.enqueue(job_id, priority)
    if ids:
        log.warning("re-queued jobs whose worker stopped responding: %s", ids)
    missing = enqueue_missing(queue, db)
    return ids + missing


def enqueue_missing(queue: JobQueue, db: Database) -> list[int]:
    """Enqueue queued jobs that have no queue message (e.g. lost between commit and enqueue)."""
    waiting = queue.enqueued_job_ids()
    missing = [(job_id, p) for job_id, p in queued_job_ids(db.conn()) if job_id not in waiting]
    for job_id, priority in missing:
        queue.enqueue(job_id, priority)
    if missing:
        log.warning("enqueued queued jobs that had no queue message: %s", [m[0] for m in missing])
    return [job_id for job_id, _ in missing]
