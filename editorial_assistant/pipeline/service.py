"""Running one job through its phases: claim, checkpoints, LLM calls, outputs, completion.

``run_job`` is idempotent: it claims the job only if it is queued, runs every phase that has not
completed, and stops cooperatively at checkpoints (between phases and between formatter chunks)
when the job was cancelled, a pause was requested, or the worker is stopping. Every LLM call is
recorded against exactly this job and phase, whether or not the job still wants its result.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from editorial_assistant.config import Settings
from editorial_assistant.db import timestamp, transaction
from editorial_assistant.errors import AppError
from editorial_assistant.jobs.events import record_event
from editorial_assistant.jobs.lifecycle import claim_job, finish_run, get_job_or_raise, owned_job
from editorial_assistant.llm.client import (
    Attempt,
    CharLimits,
    LLMClient,
    LLMError,
    LLMRequest,
    LLMResult,
    PhaseContext,
)
from editorial_assistant.llm.prices import Price, PriceTable
from editorial_assistant.logs import log_context
from editorial_assistant.pipeline import outputs
from editorial_assistant.pipeline.accounting import record_call
from editorial_assistant.pipeline.budget import BudgetExceeded, check_budget, estimate_cost
from editorial_assistant.pipeline.checks import completeness_ratio, spoken_words
from editorial_assistant.pipeline.chunking import chunk_cues, save_chunk, saved_chunks
from editorial_assistant.pipeline.phases import PHASE_BY_NAME, TIERS, Routing, choose_tier
from editorial_assistant.pipeline.prompts import render_messages
from editorial_assistant.pipeline.provenance import strip_header, with_header
from editorial_assistant.transcripts.models import Cue, ParsedTranscript
from editorial_assistant.transcripts.service import load_parsed

log = logging.getLogger(__name__)


class Stop(Exception):
    """Raised at a checkpoint when the run must end; ``outcome`` says how."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


@dataclass
class Runner:
    """What a worker needs to run jobs: settings, a connection, an LLM and its identity."""

    settings: Settings
    conn: sqlite3.Connection
    llm: LLMClient
    worker_id: str
    clock: Callable[[], datetime]
    stopping: threading.Event = field(default_factory=threading.Event)
    prices: PriceTable | None = None

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


def run_job(runner: Runner, *, job_id: int) -> str:
    """Run a queued job to its end or its next stop; return the outcome."""
    with log_context(job_id=job_id):
        token = claim_job(
            runner.conn, job_id=job_id, worker_id=runner.worker_id, now=runner.clock()
        )
        if token is None:
            return "skipped"
        log.info("job %s: running on %s", job_id, runner.worker_id)
        try:
            run = _start(runner, job_id, token)
            for name in _remaining_phases(runner.conn, job_id):
                _checkpoint(runner, run)
                with log_context(phase=name):
                    _run_phase(runner, run, name)
            _finish(runner, run, "completed", "Completed.")
            return "completed"
        except Stop as stop:
            return stop.outcome
        except BudgetExceeded as exc:
            return _end(runner, job_id, token, "paused", exc.message, pause_reason=exc.message)
        except AppError as exc:
            return _fail(runner, job_id, token, exc.message)
        except Exception:
            log.exception("job %s failed with an unexpected error", job_id)
            return _fail(
                runner,
                job_id,
                token,
                "An unexpected error stopped the job; the worker log has the details.",
            )


def _start(runner: Runner, job_id: int, token: str) -> JobRun:
    job = get_job_or_raise(runner.conn, job_id=job_id)
    transcript = load_parsed(
        runner.conn, data_dir=runner.settings.data_dir, transcript_id=job["transcript_id"]
    )
    run = JobRun(job_id, token, job["media_id"], transcript, bool(job["want_timestamps"]))
    for row in runner.conn.execute(
        "SELECT name FROM phases WHERE job_id = ? AND status = 'completed'", (job_id,)
    ):
        text, _ = outputs.read_output(
            runner.conn,
            data_dir=runner.settings.data_dir,
            job_id=job_id,
            name=PHASE_BY_NAME[row[0]].output,
        )
        run.previous[row[0]] = strip_header(text)
    return run


def _fail(runner: Runner, job_id: int, token: str, message: str) -> str:
    return _end(runner, job_id, token, "failed", f"Failed: {message}", error=message)


def _end(runner: Runner, job_id: int, token: str, to: str, message: str, **fields: object) -> str:
    """End the run in state ``to``; "abandoned" if the run no longer owned the job."""
    ended = finish_run(
        runner.conn,
        job_id=job_id,
        run_token=token,
        to=to,
        now=runner.clock(),
        message=message,
        **fields,
    )
    if ended:
        _log_state(job_id, to, message)
    return to if ended else "abandoned"


def _remaining_phases(conn: sqlite3.Connection, job_id: int) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT name FROM phases WHERE job_id = ? AND status IN ('pending', 'failed') "
            "ORDER BY position",
            (job_id,),
        )
    ]


def _checkpoint(runner: Runner, run: JobRun) -> None:
    """Stop here if the job was cancelled, a pause was asked for, or the worker is stopping."""
    job = owned_job(runner.conn, job_id=run.job_id, run_token=run.token)
    if job is None:
        raise Stop("abandoned")
    if runner.stopping.is_set():
        # Not the job's fault: this attempt does not count against jobs.max_attempts.
        attempts = max(job["attempts"] - 1, 0)
        _finish(runner, run, "queued", "Re-queued: the worker is stopping.", attempts=attempts)
        raise Stop("released")
    if job["pause_requested"]:
        _finish(runner, run, "paused", "Paused by an editor.", pause_reason="Paused by an editor.")
        raise Stop("paused")
    with transaction(runner.conn):
        runner.conn.execute(
            "UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND run_token = ?",
            (timestamp(runner.clock()), run.job_id, run.token),
        )


def _finish(runner: Runner, run: JobRun, to: str, message: str, **fields: object) -> None:
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
    _log_state(run.job_id, to, message)


def _log_state(job_id: int, to: str, message: str) -> None:
    level = logging.WARNING if to == "failed" else logging.INFO
    log.log(level, "job %s %s: %s", job_id, to, message)


def _run_phase(runner: Runner, run: JobRun, name: str) -> None:
    if name == "timestamp" and not _timestamps_wanted(runner.settings, run):
        _mark_phase(
            runner,
            run,
            name,
            status="skipped",
            tier_reason="programme shorter than "
            f"{runner.settings.pipeline.timestamp_min_minutes:g} min",
        )
        return
    forced = runner.conn.execute(
        "SELECT forced_tier FROM phases WHERE job_id = ? AND name = ?", (run.job_id, name)
    ).fetchone()[0]
    for failures in range(len(TIERS)):
        tier, reason = choose_tier(
            name,
            run.transcript.duration_seconds,
            forced=forced,
            failures=failures,
            routing=runner.routing(),
        )
        _mark_phase(runner, run, name, status="running", tier=tier, tier_reason=reason)
        try:
            body, model = _produce(runner, run, name, tier)
        except LLMError as exc:
            last = forced is not None or tier == TIERS[-1] or failures == len(TIERS) - 1
            if last or not exc.escalate:
                _mark_phase(runner, run, name, status="failed", error=exc.message)
                raise
            continue
        _publish(runner, run, name, body, model, tier)
        return


def _timestamps_wanted(settings: Settings, run: JobRun) -> bool:
    minutes = run.transcript.duration_seconds / 60
    return run.want_timestamps or minutes >= settings.pipeline.timestamp_min_minutes


def _produce(runner: Runner, run: JobRun, name: str, tier: int) -> tuple[str, str]:
    if name == "formatter":
        return _produce_formatted(runner, run, tier)
    result = _call(runner, run, name, tier, _context(runner, run))
    return result.text, result.model


def _produce_formatted(runner: Runner, run: JobRun, tier: int) -> tuple[str, str]:
    chunks = chunk_cues(
        run.transcript.cues, target_words=runner.settings.pipeline.formatter_chunk_words
    )
    done = saved_chunks(runner.conn, job_id=run.job_id, count=len(chunks))
    model = "local"
    for index, cues in enumerate(chunks):
        if index in done:
            continue
        _checkpoint(runner, run)
        context = _context(runner, run, cues=cues, chunk_index=index, chunk_count=len(chunks))
        result = _call(runner, run, "formatter", tier, context)
        model = result.model
        _save_chunk(runner, run, len(chunks), index, result.text)
        done[index] = result.text
    return "\n\n".join(done[i].strip() for i in range(len(chunks))), model


def _save_chunk(runner: Runner, run: JobRun, count: int, index: int, text: str) -> None:
    with transaction(runner.conn):
        _own_or_stop(runner, run)
        save_chunk(
            runner.conn, job_id=run.job_id, count=count, index=index, text=text, now=runner.clock()
        )


def _own_or_stop(runner: Runner, run: JobRun) -> None:
    if owned_job(runner.conn, job_id=run.job_id, run_token=run.token) is None:
        raise Stop("abandoned")


def _context(
    runner: Runner,
    run: JobRun,
    cues: tuple[Cue, ...] = (),
    chunk_index: int = 0,
    chunk_count: int = 1,
) -> PhaseContext:
    limits = runner.settings.limits
    return PhaseContext(
        media_id=run.media_id,
        transcript=run.transcript,
        limits=CharLimits(limits.title, limits.short_description, limits.long_description),
        previous=dict(run.previous),
        cues=cues,
        chunk_index=chunk_index,
        chunk_count=chunk_count,
    )


def _call(runner: Runner, run: JobRun, phase: str, tier: int, context: PhaseContext) -> LLMResult:
    messages, prompt = render_messages(phase, context)
    recorded: list[Attempt] = []

    def record(attempt: Attempt) -> None:
        recorded.append(attempt)
        record_call(
            runner.conn,
            job_id=run.job_id,
            phase=phase,
            tier=tier,
            attempt=attempt,
            now=runner.clock(),
        )

    def guard(model: str) -> None:
        budget = runner.settings.budget
        estimate = estimate_cost(
            messages, prompt.max_output_tokens, runner.price_table().price(model)
        )
        check_budget(
            runner.conn,
            job_id=run.job_id,
            model=model,
            estimate=estimate,
            job_cap=budget.job_cap_usd,
            monthly=budget.monthly_usd,
            now=runner.clock(),
        )

    request = LLMRequest(
        job_id=str(run.job_id),
        phase=phase,
        tier=tier,
        messages=messages,
        context=context,
        max_output_tokens=prompt.max_output_tokens,
        guard=guard,
        record=record,
    )
    try:
        result = runner.llm.complete(request)
    except LLMError as exc:
        if not recorded:
            record(Attempt(runner.llm.name, None, "error", error=exc.message))
        raise
    if not recorded:
        record(
            Attempt(
                runner.llm.name,
                result.model,
                "ok",
                result.prompt_tokens,
                result.completion_tokens,
                result.cost_usd,
                result.latency_seconds,
            )
        )
    if not result.text.strip():
        raise LLMError(f"The model {result.model} returned an empty {phase} draft.")
    run.prompt_versions[phase] = f"{phase}@{prompt.version}"
    return result


def _mark_phase(runner: Runner, run: JobRun, name: str, *, status: str, **fields: object) -> None:
    values: dict[str, object] = {"status": status, **fields}
    now = timestamp(runner.clock())
    if status == "running":
        values["started_at"] = now
    else:
        values["finished_at"] = now
    assignments = ", ".join(f"{column} = ?" for column in values)
    extra = ", attempts = attempts + 1" if status == "running" else ""
    with transaction(runner.conn):
        _own_or_stop(runner, run)
        runner.conn.execute(
            f"UPDATE phases SET {assignments}{extra} WHERE job_id = ? AND name = ?",
            (*values.values(), run.job_id, name),
        )
        record_event(
            runner.conn,
            job_id=run.job_id,
            kind=f"phase_{status}",
            now=runner.clock(),
            message=_phase_message(name, status, fields),
            data={"phase": name, **{k: v for k, v in fields.items() if v is not None}},
        )
    level = logging.WARNING if status == "failed" else logging.INFO
    log.log(level, "job %s %s", run.job_id, _phase_message(name, status, fields))


def _phase_message(name: str, status: str, fields: dict[str, object]) -> str:
    if status == "running":
        return f"{name}: started at tier {fields.get('tier')} ({fields.get('tier_reason')})."
    if status == "failed":
        return f"{name}: failed: {fields.get('error')}"
    return f"{name}: skipped ({fields.get('tier_reason')})."


def _publish(runner: Runner, run: JobRun, name: str, body: str, model: str, tier: int) -> None:
    """Write the output and complete the phase in one transaction, if the run still owns it."""
    conn, data_dir, now = runner.conn, runner.settings.data_dir, runner.clock()
    totals = conn.execute(
        "SELECT prompt_tokens, completion_tokens, cost_usd FROM phases WHERE "
        "job_id = ? AND name = ?",
        (run.job_id, name),
    ).fetchone()
    text = with_header(
        body,
        media_id=run.media_id,
        job_id=run.job_id,
        phase=name,
        model=model,
        tier=tier,
        prompt_tokens=totals[0],
        completion_tokens=totals[1],
        cost_usd=totals[2],
        now=now,
        prompt=None if model == "local" else run.prompt_versions.get(name),
    )
    folder = outputs.job_output_dir(data_dir, run.media_id, run.job_id)
    staged = outputs.stage_output(folder, PHASE_BY_NAME[name].output, text)
    try:
        _commit_phase(runner, run, name, staged, model, now)
    finally:
        staged.unlink(missing_ok=True)
    run.previous[name] = body
    if name == "formatter":
        _check_completeness(runner, run, body)


def _commit_phase(
    runner: Runner, run: JobRun, name: str, staged: Path, model: str, now: datetime
) -> None:
    conn = runner.conn
    with transaction(conn):
        _own_or_stop(runner, run)
        outputs.commit_output(
            conn,
            data_dir=runner.settings.data_dir,
            job_id=run.job_id,
            phase=name,
            name=PHASE_BY_NAME[name].output,
            staged=staged,
            model=model,
            now=now,
        )
        conn.execute(
            "UPDATE phases SET status = 'completed', finished_at = ?, error = NULL "
            "WHERE job_id = ? AND name = ?",
            (timestamp(now), run.job_id, name),
        )
        conn.execute("DELETE FROM phase_chunks WHERE job_id = ? AND phase = ?", (run.job_id, name))
        record_event(
            conn,
            job_id=run.job_id,
            kind="phase_completed",
            now=now,
            message=f"{name}: wrote {PHASE_BY_NAME[name].output} ({model}).",
            data={"phase": name, "model": model, "output": PHASE_BY_NAME[name].output},
        )
    log.info("job %s %s: wrote %s (%s).", run.job_id, name, PHASE_BY_NAME[name].output, model)


def _check_completeness(runner: Runner, run: JobRun, body: str) -> None:
    pipeline = runner.settings.pipeline
    spoken = spoken_words(run.transcript.spoken_text)
    ratio = completeness_ratio(body, spoken)
    if spoken <= pipeline.completeness_min_words or ratio >= pipeline.completeness_threshold:
        return
    reason = (
        f"The formatted transcript looks truncated: it has {ratio:.0%} of the spoken "
        f"words (at least {pipeline.completeness_threshold:.0%} expected). Retry the "
        "formatter at a stronger tier."
    )
    with transaction(runner.conn):
        runner.conn.execute(
            "UPDATE phases SET status = 'failed', error = ? WHERE job_id = ? "
            "AND name = 'formatter'",
            (reason, run.job_id),
        )
    _finish(runner, run, "paused", reason, pause_reason=reason)
    raise Stop("paused")
