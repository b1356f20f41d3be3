"""The worker process: a Huey consumer that runs jobs, keeps them alive and gives them back.

On start it checks the schema, re-queues jobs orphaned by a dead worker, and rebuilds the Huey
queue from the jobs table (our database, not the queue, is the truth). It runs up to
``JOBS_PER_CALL_SLOT`` × ``worker.concurrency`` jobs at once, one per consumer thread, while at
most ``worker.concurrency`` LLM calls are in flight: the call slots (``pipeline/slots.py``) decide
which waiting call goes next. While it runs, a heartbeat thread marks its jobs alive, those
waiting for a slot included. On SIGINT (graceful) the running phases get
``worker.stop_grace_seconds`` to finish; on SIGTERM (immediate), or when the grace runs out, the
jobs still running are put back in the queue before the process exits. SIGHUP does the graceful
stop and re-executes the worker.

Under systemd (``Type=notify``) the worker says READY=1 once every consumer thread has polled the
queue, and feeds the watchdog only while each thread is either polling or inside a job that is
still within the time its current step may take (an LLM call is bounded by its timeout). A frozen
or wedged consumer therefore stops the pings and systemd restarts it; the restarted worker finds
the interrupted job through recovery and runs it again.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import threading
import time
import uuid

from huey.consumer import Consumer, ConsumerStopped
from huey.consumer import Worker as HueyWorker

from editorial_assistant.config import Settings
from editorial_assistant.db import Database, check_schema, utcnow
from editorial_assistant.errors import AppError
from editorial_assistant.jobs.lifecycle import heartbeat
from editorial_assistant.jobs.recovery import release_jobs_of, worker_identity
from editorial_assistant.jobs.tasks import JobQueue, make_huey, recover_and_enqueue
from editorial_assistant.llm.client import LLMClient, LLMRequest, LLMResult
from editorial_assistant.llm.factory import backend_name, make_llm_client
from editorial_assistant.llm.openrouter import MAX_RETRY_WAIT_SECONDS
from editorial_assistant.llm.prices import refresh_prices
from editorial_assistant.ops.systemd import notify, start_pinger
from editorial_assistant.pipeline.service import Runner, run_job
from editorial_assistant.pipeline.slots import CallSlots

log = logging.getLogger(__name__)


class Liveness:
    """Per-thread deadlines: each consumer thread promises to be heard from again by then."""

    def __init__(self) -> None:
        self._deadlines: dict[int, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def beat(self, allowance: float, doing: str) -> None:
        """The calling thread is fine and will beat again within ``allowance`` seconds."""
        with self._lock:
            self._deadlines[threading.get_ident()] = (time.monotonic() + allowance, doing)

    def problem(self, threads: list[threading.Thread]) -> str | None:
        """Why these threads are not all working, or None."""
        now = time.monotonic()
        with self._lock:
            for thread in threads:
                if not thread.is_alive():
                    return f"{thread.name} is not running"
                deadline, doing = self._deadlines.get(thread.ident or 0, (None, ""))
                if deadline is None:
                    return f"{thread.name} has not polled the queue yet"
                if deadline < now:
                    return f"{thread.name} is stuck ({doing}, {now - deadline:.0f} s overdue)"
        return None


class _BeatingHueyWorker(HueyWorker):
    """Huey's worker loop, beating each time it looks at the queue."""

    liveness: Liveness
    allowance: float

    def loop(self, now: object = None) -> None:
        self.liveness.beat(self.allowance, "polling the queue")
        super().loop(now)


class _Consumer(Consumer):
    """Huey's consumer with beating threads, job hand-back on stop, and hand-back before SIGHUP."""

    def __init__(
        self,
        *args: object,
        stopping: threading.Event,
        liveness: Liveness,
        on_exit: object,
        **kwargs: object,
    ) -> None:
        self._stopping_jobs = stopping
        self.liveness = liveness
        self._on_exit = on_exit
        super().__init__(*args, **kwargs)

    worker_class = _BeatingHueyWorker

    def _create_worker(self) -> HueyWorker:
        worker = super()._create_worker()
        worker.liveness = self.liveness
        worker.allowance = max(self.max_delay * 4, 10.0)
        return worker

    def problem(self) -> str | None:
        """Why the consumer is not consuming, or None (the watchdog's check)."""
        if self._stopping_jobs.is_set():
            return "stopping"
        if self.scheduler.ident is None:
            return "starting"  # Pinger's initial state: not logged as a problem
        if not self.scheduler.is_alive():
            return "the scheduler thread is not running"
        return self.liveness.problem([thread for _, thread in self.worker_threads])

    def stop(self, graceful: bool = False) -> None:
        self._stopping_jobs.set()
        if self._restart:  # SIGHUP: systemd waits for the re-executed worker's READY=1
            usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
            notify("RELOADING=1", f"MONOTONIC_USEC={usec}", "STATUS=reloading")
        else:
            notify("STOPPING=1", "STATUS=stopping: running phases finish, then jobs go back")
        super().stop(graceful=graceful)

    def run(self) -> None:
        """Huey's ``run``, handing jobs back before a SIGHUP re-exec as well as before exit."""
        self.start()
        health_check_ts = time.monotonic()
        while True:
            try:
                health_check_ts = self.loop(health_check_ts)
            except ConsumerStopped:
                break
        self.huey.notify_interrupted_tasks()
        self._on_exit()  # type: ignore[operator]
        if self._restart:
            log.info("worker re-executing itself (SIGHUP)")
            os.execl(sys.executable, sys.executable, *sys.argv)


class _BeatingClient:
    """An ``LLMClient`` that promises each call will end within its timeout (plus retries)."""

    def __init__(self, client: LLMClient, liveness: Liveness, allowance: float) -> None:
        self.client, self.liveness, self.allowance = client, liveness, allowance
        self.name = client.name

    def complete(self, request: LLMRequest) -> LLMResult:
        guard = request.guard

        def beating_guard(model: str) -> None:
            self.liveness.beat(self.allowance, f"{request.phase} call to {model}")
            if guard is not None:
                guard(model)

        self.liveness.beat(self.allowance, f"{request.phase} call")
        try:
            return self.client.complete(dataclasses.replace(request, guard=beating_guard))
        finally:
            self.liveness.beat(_STEP_SECONDS, f"{request.phase} after its call")


# How long a job thread may go between two beats outside an LLM call (database writes, the
# local backend, saving outputs): generous, since a false alarm restarts the worker.
_STEP_SECONDS = 300.0

# Jobs in progress per LLM call slot. One per slot leaves slots idle whenever fewer jobs than
# slots are left (a batch's last round); with three, a freed slot nearly always has a call
# waiting for it and the slots can serve the critical jobs first (see pipeline/slots.py).
JOBS_PER_CALL_SLOT = 3


class Worker:
    """Everything one worker process holds."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.database_path)
        self.queue = JobQueue(make_huey(settings))
        self.liveness = Liveness()
        llm = settings.llm
        call_allowance = (llm.timeout_seconds + MAX_RETRY_WAIT_SECONDS) * (llm.max_retries + 1) + 60
        self.llm = _BeatingClient(make_llm_client(settings), self.liveness, call_allowance)
        self.slots = CallSlots(settings.worker.concurrency, tick=self._beat_waiting)
        self.worker_id = worker_identity(uuid.uuid4().hex[:8])
        self.stopping = threading.Event()
        self.queue.job_runner = self._run_beating
        self.queue.recovery = lambda: recover_and_enqueue(
            self.queue, self.db, settings, self.worker_id
        )

    def run(self, job_id: int) -> str:
        """Run one job in the calling thread."""
        from editorial_assistant.logs import log_context

        with log_context(job_id=job_id):
            runner = Runner(
                settings=self.settings,
                conn=self.db.conn(),
                llm=self.llm,
                worker_id=self.worker_id,
                clock=utcnow,
                stopping=self.stopping,
                slots=self.slots,
            )
            return run_job(runner, job_id=job_id)

    def _beat_waiting(self) -> None:
        self.liveness.beat(_STEP_SECONDS, "waiting for an LLM call slot")

    def _run_beating(self, job_id: int) -> str:
        self.liveness.beat(_STEP_SECONDS, f"starting job {job_id}")
        try:
            return self.run(job_id)
        finally:
            self.liveness.beat(_STEP_SECONDS, f"after job {job_id}")

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
        threads = JOBS_PER_CALL_SLOT * worker.concurrency
        consumer = _Consumer(
            self.queue.huey,
            workers=threads,
            worker_type="thread",
            initial_delay=worker.poll_interval_seconds,
            backoff=1.0,
            max_delay=worker.poll_interval_seconds,
            periodic=True,
            check_worker_health=True,
            shutdown_timeout=worker.stop_grace_seconds,
            stopping=self.stopping,
            liveness=self.liveness,
            on_exit=self._give_back,
        )
        doing = f"consuming with {threads} threads, {worker.concurrency} LLM call slots"
        log.info("worker %s %s", self.worker_id, doing)
        pinger = start_pinger(consumer.problem, ready_on_first_pass=True, status_ok=doing)
        try:
            consumer.run()
        finally:
            if pinger is not None:
                pinger.stop()
            self.stopping.set()
            self._give_back()

    def _heartbeat(self) -> None:
        db = Database(self.settings.database_path)
        while not self.stopping.wait(self.settings.jobs.heartbeat_seconds):
            heartbeat(db.conn(), worker_id=self.worker_id, now=utcnow())

    def _give_back(self) -> None:
        self.stopping.set()
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
