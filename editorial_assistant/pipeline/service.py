"""Running one job through its phases: claim, checkpoints, each phase's calls and its output.

``run_job`` is idempotent: it claims the job only if it is queued, runs every phase that has not
completed, and stops cooperatively at checkpoints (between phases and between formatter chunks)
when the job was cancelled, a pause was requested, or the worker is stopping. A run counts as one
job in progress for the worker's call slots (``pipeline/slots.py``), with the calls it still has
to make. The call itself is ``pipeline/calls.py``; writing the output, ``pipeline/publish.py``.
"""

from __future__ import annotations

import logging
import sqlite3

from editorial_assistant.config import Settings
from editorial_assistant.db import timestamp, transaction
from editorial_assistant.errors import AppError
from editorial_assistant.jobs.events import record_event
from editorial_assistant.jobs.lifecycle import claim_job, finish_run, get_job_or_raise
from editorial_assistant.llm.client import CharLimits, LLMError, PhaseContext
from editorial_assistant.logs import log_context
from editorial_assistant.pipeline import outputs
from editorial_assistant.pipeline.budget import BudgetExceeded
from editorial_assistant.pipeline.calls import call_llm
from editorial_assistant.pipeline.chunking import chunk_cues, save_chunk, saved_chunks
from editorial_assistant.pipeline.phases import PHASE_BY_NAME, TIERS, choose_tier
from editorial_assistant.pipeline.provenance import strip_header
from editorial_assistant.pipeline.publish import publish
from editorial_assistant.pipeline.runs import (
    JobRun,
    Runner,
    Stop,
    checkpoint,
    finish,
    log_state,
    own_or_stop,
)
from editorial_assistant.transcripts.models import Cue
from editorial_assistant.transcripts.service import load_parsed

__all__ = ["Runner", "run_job"]

log = logging.getLogger(__name__)


def run_job(runner: Runner, *, job_id: int) -> str:
    """Run a queued job to its end or its next stop; return the outcome."""
    with log_context(job_id=job_id):
        token = claim_job(
            runner.conn, job_id=job_id, worker_id=runner.worker_id, now=runner.clock()
        )
        if token is None:
            return "skipped"
        log.info("job %s: running on %s", job_id, runner.worker_id)
        run: JobRun | None = None
        try:
            run = _start(runner, job_id, token)
            for name in _remaining_phases(runner.conn, job_id):
                checkpoint(runner, run)
                with log_context(phase=name):
                    _run_phase(runner, run, name)
            finish(runner, run, "completed", "Completed.")
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
        finally:
            if runner.slots is not None and run is not None and run.ticket is not None:
                runner.slots.leave(run.ticket)


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
    if runner.slots is not None:
        run.ticket = runner.slots.join(
            job_id, priority=job["priority"], calls_left=_calls_left(runner, run)
        )
    return run


def _calls_left(runner: Runner, run: JobRun) -> int:
    """The LLM calls this run expects to make, if none fails."""
    calls = 0
    for name in _remaining_phases(runner.conn, run.job_id):
        if name == "formatter":
            chunks = _chunks(runner, run)
            done = saved_chunks(runner.conn, job_id=run.job_id, count=len(chunks))
            calls += len(chunks) - len(done)
        elif name != "timestamp" or _timestamps_wanted(runner.settings, run):
            calls += 1
    return calls


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
        log_state(job_id, to, message)
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
        publish(runner, run, name, body, model, tier)
        return


def _timestamps_wanted(settings: Settings, run: JobRun) -> bool:
    minutes = run.transcript.duration_seconds / 60
    return run.want_timestamps or minutes >= settings.pipeline.timestamp_min_minutes


def _produce(runner: Runner, run: JobRun, name: str, tier: int) -> tuple[str, str]:
    if name == "formatter":
        return _produce_formatted(runner, run, tier)
    result = call_llm(runner, run, name, tier, _context(runner, run))
    return result.text, result.model


def _chunks(runner: Runner, run: JobRun) -> list[tuple[Cue, ...]]:
    words = runner.settings.pipeline.formatter_chunk_words
    return chunk_cues(run.transcript.cues, target_words=words)


def _produce_formatted(runner: Runner, run: JobRun, tier: int) -> tuple[str, str]:
    chunks = _chunks(runner, run)
    done = saved_chunks(runner.conn, job_id=run.job_id, count=len(chunks))
    model = "local"
    for index, cues in enumerate(chunks):
        if index in done:
            continue
        checkpoint(runner, run)
        context = _context(runner, run, cues=cues, chunk_index=index, chunk_count=len(chunks))
        result = call_llm(runner, run, "formatter", tier, context)
        model = result.model
        _save_chunk(runner, run, len(chunks), index, result.text)
        done[index] = result.text
    return "\n\n".join(done[i].strip() for i in range(len(chunks))), model


def _save_chunk(runner: Runner, run: JobRun, count: int, index: int, text: str) -> None:
    with transaction(runner.conn):
        own_or_stop(runner, run)
        save_chunk(
            runner.conn, job_id=run.job_id, count=count, index=index, text=text, now=runner.clock()
        )


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
        own_or_stop(runner, run)
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
