"""Publishing a phase's draft: the output file and the phase's completion, committed together.

The draft gets its provenance header, is staged beside its final name, and is moved into place in
the transaction that marks the phase completed, only if the run still owns the job. After the
formatter, a draft that lost too many of the spoken words pauses the job with a plain reason.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from editorial_assistant.db import timestamp, transaction
from editorial_assistant.jobs.events import record_event
from editorial_assistant.pipeline import outputs
from editorial_assistant.pipeline.checks import completeness_ratio, spoken_words
from editorial_assistant.pipeline.phases import PHASE_BY_NAME
from editorial_assistant.pipeline.provenance import with_header
from editorial_assistant.pipeline.runs import JobRun, Runner, Stop, finish, own_or_stop

log = logging.getLogger(__name__)


def publish(runner: Runner, run: JobRun, name: str, body: str, model: str, tier: int) -> None:
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
        own_or_stop(runner, run)
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
    finish(runner, run, "paused", reason, pause_reason=reason)
    raise Stop("paused")
