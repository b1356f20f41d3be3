"""The worker process: a Huey consumer that runs jobs, keeps them alive and gives them back.

On start it checks the schema, re-queues jobs orphaned by a dead worker, and rebuilds the Huey
queue from the jobs table (our database, not the queue, is the truth). While it runs, a heartbeat
thread marks its jobs alive. On SIGINT (graceful) or SIGTERM (immediate) the running jobs stop at
their next checkpoint or are put back in the queue before the process exits.
"""

from __future__ import annotations

import logging
import threading
import uuid

from huey.consumer import Consumer

from editorial_assistant.config import Settings
from editorial_assistant.db import Database, check_schema, utcnow
from editorial_assistant.errors import AppError
from editorial_assistant.jobs.lifecycle import heartbeat
from editorial_assistant.jobs.recovery import release_jobs_of, worker_identity
from editorial_assistant.jobs.tasks import JobQueue, make_huey, recover_and_enqueue
from editorial_assistant.llm.factory import backend_name, make_llm_client
from editorial_assistant.llm.prices import refresh_prices
from editorial_assistant.pipeline.service import Runner, run_job

log = logging.getLogger(__name__)


class _Consumer(Consumer):
    """Huey's consumer, telling running jobs to stop at their next checkpoint when it stops."""

    def __init__(self, *args: object, stopping: threading.Event, **kwargs: object) -> None:
        self._stopping_jobs = stopping
        super().__init__(*args, **kwargs)

    def stop(self, graceful: bool = False) -> None:
        self._stopping_jobs.set()
        super().stop(graceful=graceful)


class Worker:
    """Everything one worker process holds."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.database_path)
        self.queue = JobQueue(make_huey(settings))
        self.llm = make_llm_client(settings)
        self.worker_id = worker_identity(uuid.uuid4().hex[:8])
        self.stopping = threading.Event()
        self.queue.job_runner = self.run
        self.queue.recovery = lambda: recover_and_enqueue(
            self.queue, self.db, settings, self.worker_id
        )

    def run(self, job_id: int) -> str:
        """Run one job in the calling thread."""
        runner = Runner(
            settings=self.settings,
            conn=self.db.conn(),
            llm=self.llm,
            worker_id=self.worker_id,
            clock=utcnow,
            stopping=self.stopping,
        )
        return run_job(runner, job_id=job_id)

    def prepare(self) -> None:
        """Check the schema, recover orphans and rebuild the queue from the jobs table."""
        check_schema(self.db.conn())
        self._ensure_prices()
        self.queue.huey.flush()
        self.queue.recovery()  # type: ignore[misc]  # set in __init__

    def _ensure_prices(self) -> None:
        """Fetch the price table once if OpenRouter is used and there is none yet."""
        settings = self.settings
        path = settings.data_dir / settings.models.prices_file
        if backend_name(settings) != "openrouter" or path.exists():
            return
        try:
            count = refresh_prices(
                base_url=settings.llm.openrouter_base_url,
                path=path,
                now=utcnow(),
                api_key=settings.secret("openrouter_api_key"),
            )
            log.info("fetched prices of %d models into %s", count, path)
        except AppError as exc:
            log.warning(
                "%s Budget estimates use the fallback prices until "
                "`editorial-assistant models refresh` succeeds.",
                exc.message,
            )

    def serve(self) -> None:
        """Consume until stopped, then give back whatever is still held."""
        self.prepare()
        beat = threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True)
        beat.start()
        worker = self.settings.worker
        consumer = _Consumer(
            self.queue.huey,
            workers=worker.concurrency,
            worker_type="thread",
            initial_delay=worker.poll_interval_seconds,
            backoff=1.0,
            max_delay=worker.poll_interval_seconds,
            periodic=True,
            check_worker_health=True,
            stopping=self.stopping,
        )
        log.info("worker %s consuming with %d threads", self.worker_id, worker.concurrency)
        try:
            consumer.run()
        finally:
            self.stopping.set()
            self._give_back()

    def _heartbeat(self) -> None:
        db = Database(self.settings.database_path)
        while not self.stopping.wait(self.settings.jobs.heartbeat_seconds):
            heartbeat(db.conn(), worker_id=self.worker_id, now=utcnow())

    def _give_back(self) -> None:
        released = release_jobs_of(
            self.db.conn(),
            worker_id=self.worker_id,
            now=utcnow(),
            reason="Re-queued: the worker stopped.",
        )
        for job_id in released:
            self.queue.enqueue(job_id)
        if released:
            log.warning("worker stopping: re-queued running jobs %s", released)


def run_worker(settings: Settings) -> None:
    """The ``editorial-assistant worker`` command."""
    Worker(settings).serve()
