"""What a run of one job holds, and the checks that end it: ownership, checkpoints, finishing.

A ``Runner`` is what a worker thread needs to run jobs; a ``JobRun`` is one claimed run of one
job. Every write of a run first checks that it still owns the job (same ``run_token``); when it
does not (cancelled, handed to another worker), ``Stop("abandoned")`` ends the run. At a
checkpoint the run also stops when a pause was asked for or the worker is stopping.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from editorial_assistant.config import Settings
from editorial_assistant.db import timestamp, transaction
from editorial_assistant.jobs.lifecycle import finish_run, owned_job
from editorial_assistant.llm.client import LLMClient
from editorial_assistant.llm.prices import Price, PriceTable
from editorial_assistant.pipeline.phases import Routing
from editorial_assistant.pipeline.slots import CallSlots, Ticket
from editorial_assistant.transcripts.models import ParsedTranscript

log = logging.getLogger(__name__)


class Stop(Exception):
    """Raised at a checkpoint when the run must end; ``outcome`` says how."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


@dataclass
class Runner:
    """What a worker needs to run jobs: settings, a connection, an LLM and its identity.

    ``slots``, shared by the worker's threads, bounds the LLM calls in flight; without it (a
    job run alone) every call goes ahead at once.
    """

    settings: Settings
    conn: sqlite3.Connection
    llm: LLMClient
    worker_id: str
    clock: Callable[[], datetime]
    stopping: threading.Event = field(default_factory=threading.Event)
    prices: PriceTable | None = None
    slots: CallSlots | None = None

    def price_table(self) -> PriceTable:
        """Model prices for budget estimates (read once per runner)."""
        if self.prices is None:
            models = self.settings.models
            fallback = Price(models.fallback_prompt_price, models.fallback_completion_price)
            self.prices = PriceTable.load(
                self.settings.data_dir / models.prices_file, fallback, models.prices
            )
        return self.prices

    def routing(self) -> Routing:
        """Tier routing from the settings."""
        routing = self.settings.routing
        return Routing(
            routing.base_tiers,
            routing.default_tier_above_minutes,
            routing.strong_tier_above_minutes,
        )


@dataclass
class JobRun:
    """One claimed run of one job."""

    job_id: int
    token: str
    media_id: str
    transcript: ParsedTranscript
    want_timestamps: bool
    previous: dict[str, str] = field(default_factory=dict)
    prompt_versions: dict[str, str] = field(default_factory=dict)
    ticket: Ticket | None = None


def own_or_stop(runner: Runner, run: JobRun) -> sqlite3.Row:
    """The job row if this run still owns it; else ``Stop("abandoned")``."""
    job = owned_job(runner.conn, job_id=run.job_id, run_token=run.token)
    if job is None:
        raise Stop("abandoned")
    return job


def stop_if_asked(runner: Runner, run: JobRun) -> None:
    """End the run here if the job was cancelled, a pause was asked for, or the worker stops."""
    job = own_or_stop(runner, run)
    if runner.stopping.is_set():
        # Not the job's fault: this attempt does not count against jobs.max_attempts.
        attempts = max(job["attempts"] - 1, 0)
        finish(runner, run, "queued", "Re-queued: the worker is stopping.", attempts=attempts)
        raise Stop("released")
    if job["pause_requested"]:
        finish(runner, run, "paused", "Paused by an editor.", pause_reason="Paused by an editor.")
        raise Stop("paused")


def checkpoint(runner: Runner, run: JobRun) -> None:
    """Between phases and chunks: stop if asked to, else mark the job alive."""
    stop_if_asked(runner, run)
    with transaction(runner.conn):
        runner.conn.execute(
            "UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND run_token = ?",
            (timestamp(runner.clock()), run.job_id, run.token),
        )


def finish(runner: Runner, run: JobRun, to: str, message: str, **fields: object) -> None:
    """End this run in state ``to``; ``Stop("abandoned")`` if it no longer owns the job."""
    if not finish_run(
        runner.conn,
        job_id=run.job_id,
        run_token=run.token,
        to=to,
        now=runner.clock(),
        message=message,
        **fields,
    ):
        raise Stop("abandoned")
    log_state(run.job_id, to, message)


def log_state(job_id: int, to: str, message: str) -> None:
    """One log line per change of a job's state."""
    level = logging.WARNING if to == "failed" else logging.INFO
    log.log(level, "job %s %s: %s", job_id, to, message)
