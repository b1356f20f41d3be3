"""Why a job stopped, on its page: a failure, an editor's pause, the budget, a cut-off
transcript, a wait for a call slot; each in plain words with the action that resolves it."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from editorial_assistant.config import Settings
from editorial_assistant.db import connect, transaction, utcnow
from editorial_assistant.jobs.events import record_event
from editorial_assistant.jobs.lifecycle import claim_job
from editorial_assistant.web.job_view import explain_stop
from editorial_assistant.web.render import when
from tests.web.job_pages import (
    PHASE_RETRIES,
    Steered,
    actions_of,
    job_page,
    running_app,
    submit,
)


def test_a_failed_job_offers_retry_and_says_why(tmp_path: Path) -> None:
    with running_app(tmp_path) as (client, worker, _):
        job_id = submit(client)
        worker.llm = Steered(fail="analyst")
        assert worker.run(job_id) == "failed"
        page = job_page(client, job_id)
    assert actions_of(page, job_id) == {"retry", "cancel"} | PHASE_RETRIES
    notice = page.text("job-notices")
    assert "Why it failed strong/a refused the request." in notice
    assert "Retry runs the unfinished phases again" in notice


def test_an_editor_pause_is_explained_and_offers_resume(client: TestClient) -> None:
    job_id = submit(client)
    assert client.post(f"/api/jobs/{job_id}/pause").status_code == 200
    page = job_page(client, job_id)
    assert actions_of(page, job_id) == {"resume", "retry", "cancel"} | PHASE_RETRIES
    assert "Paused by an editor An editor paused this job." in page.text("job-notices")


def test_a_job_at_the_per_job_cap_says_which_call_and_what_resolves_it(tmp_path: Path) -> None:
    with running_app(tmp_path, EA_BUDGET_JOB_CAP_USD="0.01") as (client, worker, _):
        job_id = submit(client)
        worker.llm = Steered(guarded="manager")
        assert worker.run(job_id) == "paused"
        page = job_page(client, job_id)
        notice = page.text("job-notices")
        assert "Paused: the per-job cost cap" in notice
        assert "could pass the per-job cost cap of $0.01 (the setting budget.job_cap_usd)" in notice
        assert (
            "the manager phase's call on strong/a at tier 2 (strong) could cost up to $" in notice
        )
        assert "has already spent $0.0000" in notice
        assert "Retry the manager phase at tier 1 (default)" in notice
        assert "raise budget.job_cap_usd" in notice and "then Resume the job" in notice
        fix = f"/api/jobs/{job_id}/phases/manager/retry"
        assert page.forms().count(fix) == 2  # the notice's button and the phase row's
        hidden = next(a for t, a in page.tags if t == "input" and a.get("type") == "hidden")
        assert hidden == {"type": "hidden", "name": "tier", "value": "1", "data-type": "int"}
        # What the button sends is what the API takes: the job goes back in the queue.
        retried = client.post(fix, json={"tier": 1})
        assert retried.status_code == 200 and retried.json()["status"] == "queued"


def test_a_job_at_the_monthly_budget_says_so(tmp_path: Path) -> None:
    with running_app(tmp_path, EA_BUDGET_MONTHLY_USD="0.01") as (client, worker, _):
        job_id = submit(client)
        worker.llm = Steered(guarded="analyst")
        assert worker.run(job_id) == "paused"
        notice = job_page(client, job_id).text("job-notices")
    assert "Paused: the monthly budget" in notice
    assert "this month's budget of $0.01 for all jobs (the setting budget.monthly_usd)" in notice
    assert "analyst phase's call on strong/a at tier 0 (cheap)" in notice
    assert "Have IT raise budget.monthly_usd" in notice  # tier 0: nothing cheaper to suggest
    assert "Retry the analyst" not in notice


def test_a_truncated_transcript_is_explained_with_the_retry_that_resolves_it(
    tmp_path: Path,
) -> None:
    with running_app(tmp_path, EA_PIPELINE_COMPLETENESS_MIN_WORDS="0") as (client, worker, _):
        job_id = submit(client)
        worker.llm = Steered(cut=True)
        assert worker.run(job_id) == "paused"
        page = job_page(client, job_id)
    notice = page.text("job-notices")
    assert "Paused: the transcript looks cut off" in notice
    assert re.search(r"holds only \d+% of the words spoken .* at least 70% was expected", notice)
    assert "Retry the formatter phase at tier 1 (default)" in notice
    assert "the river." in page.text("draft-formatted_transcript")  # the cut draft is kept


def test_a_running_job_waiting_for_a_call_slot_says_since_when(
    client: TestClient, settings: Settings
) -> None:
    job_id = submit(client)
    conn = connect(settings.database_path)
    assert claim_job(conn, job_id=job_id, worker_id="test-worker", now=utcnow())
    with transaction(conn):  # as pipeline/calls.py notes a wait
        record_event(
            conn, job_id=job_id, kind="slot_waiting", now=utcnow(), message="analyst: waiting."
        )
    since = client.get(f"/api/jobs/{job_id}").json()["waiting_for_slot_since"]
    page = job_page(client, job_id)
    assert f"Waiting since {when(since)} for a free LLM call slot" in page.text("job-notices")
    assert actions_of(page, job_id) == {"pause", "cancel"}
    assert page.text("job-status") == "Running: 0 of 5 phases done."
    client.post(f"/api/jobs/{job_id}/pause")
    page = job_page(client, job_id)
    assert actions_of(page, job_id) == {"resume", "cancel"}
    assert "Pause requested: the job stops after its current step." in page.text("job-notices")


def a_job(status: str, reason: str | None, **formatter: object) -> dict[str, object]:
    """A job as ``job_detail`` gives it, reduced to what the explanations read."""
    phases = [{"name": "formatter", "status": "failed", "tier": 2, **formatter}]
    return {"status": status, "pause_reason": reason, "error": None, "phases": phases}


def test_a_formatter_cut_short_at_the_strongest_tier_is_retried_at_that_tier() -> None:
    reason = (
        "The formatted transcript looks truncated: it has 40% of the spoken words (at least 70% "
        "expected). Retry the formatter at a stronger tier."
    )
    stopped = explain_stop(a_job("paused", reason))
    assert stopped is not None and stopped.retry == ("formatter", 2)
    assert "it already ran at the strongest tier, 2" in stopped.fix


def test_a_reason_the_page_does_not_know_is_shown_as_it_is() -> None:
    stopped = explain_stop(a_job("paused", "Paused for maintenance."))
    assert stopped is not None and stopped.text == "Paused for maintenance."
    assert stopped.retry is None and "Resume" in stopped.fix
    assert explain_stop(a_job("completed", None)) is None
