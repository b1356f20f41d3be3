"""One LLM call of a phase: its prompt, the budget guard, the record of every attempt, and its
turn for one of the worker's call slots.

Every attempt is recorded against exactly this job and phase, whether or not the job still wants
the result. A call that has to wait for a slot says so in the job's timeline (``slot_waiting``,
then ``slot_granted``), and while it waits its job can still be paused, cancelled or handed back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from editorial_assistant.db import transaction
from editorial_assistant.jobs.events import record_event
from editorial_assistant.llm.client import Attempt, LLMError, LLMRequest, LLMResult, PhaseContext
from editorial_assistant.pipeline.accounting import record_call
from editorial_assistant.pipeline.budget import check_budget, estimate_cost
from editorial_assistant.pipeline.prompts import render_messages
from editorial_assistant.pipeline.runs import JobRun, Runner, own_or_stop, stop_if_asked

log = logging.getLogger(__name__)


def call_llm(
    runner: Runner, run: JobRun, phase: str, tier: int, context: PhaseContext
) -> LLMResult:
    """Make one call for ``phase`` at ``tier``, recorded and within the budget."""
    messages, prompt = render_messages(phase, context)
    recorded: list[Attempt] = []

    def record(attempt: Attempt) -> None:
        recorded.append(attempt)
        job_id, now = run.job_id, runner.clock()
        record_call(runner.conn, job_id=job_id, phase=phase, tier=tier, attempt=attempt, now=now)

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
        with _turn(runner, run, _label(phase, context)):
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


@contextmanager
def _turn(runner: Runner, run: JobRun, label: str) -> Iterator[None]:
    """Hold one of the worker's call slots for the call (at once when there are no slots)."""
    slots, ticket = runner.slots, run.ticket
    if slots is None or ticket is None:
        yield
        return
    with slots.held(
        ticket,
        priority=_priority(runner, run),
        waiting=lambda: _note(
            runner,
            run,
            "slot_waiting",
            f"{label}: waiting for a free LLM call slot (all {slots.size} in use).",
        ),
        still_wanted=lambda: stop_if_asked(runner, run),
    ) as waited:
        if waited:
            _note(runner, run, "slot_granted", f"{label}: got a call slot after {waited:.1f} s.")
        yield


def _label(phase: str, context: PhaseContext) -> str:
    if context.chunk_count > 1:
        return f"{phase} chunk {context.chunk_index + 1} of {context.chunk_count}"
    return phase


def _priority(runner: Runner, run: JobRun) -> int:
    """The job's priority now: an editor may have changed it since the run started."""
    row = runner.conn.execute("SELECT priority FROM jobs WHERE id = ?", (run.job_id,)).fetchone()
    return int(row[0])


def _note(runner: Runner, run: JobRun, kind: str, message: str) -> None:
    """Put a slot event in the job's timeline, if the run still owns the job."""
    with transaction(runner.conn):
        own_or_stop(runner, run)
        record_event(runner.conn, job_id=run.job_id, kind=kind, now=runner.clock(), message=message)
    log.debug("job %s %s", run.job_id, message)
