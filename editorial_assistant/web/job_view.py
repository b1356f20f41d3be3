"""What the job page shows, worked out from a job: its drafts, the actions its status allows,
one line of status, and why it stopped, in plain words with the action that resolves it.

The reasons come from the pipeline: a budget pause carries ``BudgetExceeded``'s message
(``pipeline/budget.py``), a truncation pause the completeness check's (``pipeline/publish.py``),
an editor's pause "Paused by an editor.". Their figures are read back from those messages; an
unknown reason is shown as it is.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from editorial_assistant.errors import AppError
from editorial_assistant.jobs.lifecycle import TRANSITIONS
from editorial_assistant.pipeline.outputs import read_output
from editorial_assistant.pipeline.phases import OUTPUT_NAMES, PHASE_BY_NAME, TIER_NAMES, TIERS
from editorial_assistant.pipeline.provenance import strip_header
from editorial_assistant.web.markdown import render_markdown

RETRYABLE = ("failed", "cancelled", "paused")  # jobs.service.retry_job
BUSY = ("queued", "running")  # jobs.service.retry_phase refuses these
EDITOR_PAUSE = "Paused by an editor."
MONEY = r"\$(?P<{}>[\d,]+(?:\.\d+)?)"
BUDGET_JOB = re.compile(
    r"^budget: the next call on (?P<model>.+?) could cost up to "
    + MONEY.format("estimate")
    + r", and job \d+ has spent "
    + MONEY.format("spent")
    + " of its "
    + MONEY.format("cap")
    + " cap"
)
BUDGET_MONTH = re.compile(
    r"^budget: the next call on (?P<model>.+?) could cost up to "
    + MONEY.format("estimate")
    + ", and "
    + MONEY.format("spent")
    + " of this month's "
    + MONEY.format("cap")
    + " budget is spent"
)
TRUNCATED = re.compile(
    r"^The formatted transcript looks truncated: it has (?P<ratio>\d+)% of the spoken words "
    r"\(at least (?P<threshold>\d+)% expected\)"
)
RELOAD = "sudo systemctl reload editorial-assistant-worker"


@dataclass(frozen=True)
class Draft:
    """One output as the page shows it: sanitised HTML and the Markdown to copy."""

    name: str
    slug: str
    title: str
    version: int | None = None
    model: str | None = None
    created_at: str | None = None
    markdown: str = ""
    html: Markup | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Explanation:
    """Why a job stopped, and what resolves it; ``retry`` is the (phase, tier) to suggest."""

    title: str
    text: str
    fix: str
    retry: tuple[str, int] | None = None


def drafts(conn: sqlite3.Connection, *, data_dir: Path, job: dict[str, Any]) -> list[Draft]:
    """The job's latest outputs, in phase order, rendered for reading."""
    return [_draft(conn, data_dir, job["id"], name) for name in job["outputs"]]


def _draft(conn: sqlite3.Connection, data_dir: Path, job_id: int, name: str) -> Draft:
    slug, title = name.rsplit(".", 1)[0], PHASE_BY_NAME[OUTPUT_NAMES[name]].title
    try:
        text, row = read_output(conn, data_dir=data_dir, job_id=job_id, name=name)
    except AppError as exc:  # archived or lost: say so instead of failing the page
        return Draft(name, slug, title, problem=f"{exc.message} {exc.hint}".strip())
    body = strip_header(text)
    return Draft(
        name,
        slug,
        title,
        version=row["version"],
        model=row["model"],
        created_at=row["created_at"],
        markdown=body,
        html=render_markdown(body, heading_offset=3),
    )


def actions(job: dict[str, Any]) -> dict[str, bool]:
    """Which actions the job's status allows (what the API would accept now)."""
    status, pause_asked = job["status"], job["pause_requested"]
    return {
        "pause": status == "queued" or (status == "running" and not pause_asked),
        "resume": status == "paused" or (status == "running" and pause_asked),
        "cancel": "cancelled" in TRANSITIONS[status],
        "retry": status in RETRYABLE,
        "phase_retry": status not in BUSY,
    }


def status_line(job: dict[str, Any]) -> str:
    """One sentence on where the job is, for the page's polite live announcement."""
    phases = job["phases"]
    done = sum(phase["status"] == "completed" for phase in phases)
    skipped = sum(phase["status"] == "skipped" for phase in phases)
    line = f"{job['status'].capitalize()}: {done} of {len(phases)} phases done"
    line += f", {skipped} skipped." if skipped else "."
    current = next((p for p in phases if p["status"] == "running"), None)
    if job["status"] == "running" and current is not None:
        line += f" Now: {_title(current['name'])}."
    return line


def explain_stop(job: dict[str, Any]) -> Explanation | None:
    """Why a paused or failed job stopped, in plain words, with the action that resolves it."""
    if job["status"] == "failed":
        return Explanation(
            "Why it failed",
            job["error"] or "The job failed.",
            "Retry runs the unfinished phases again, each from its usual tier; or retry one "
            "phase at a stronger tier below.",
        )
    if job["status"] != "paused":
        return None
    reason = job["pause_reason"] or ""
    if reason == EDITOR_PAUSE:
        return Explanation(
            "Paused by an editor",
            "An editor paused this job. Its finished phases and drafts are kept.",
            "Resume puts it back in the queue; it carries on from the next unfinished phase.",
        )
    blocked = _next_phase(job)
    for pattern, explain in ((BUDGET_JOB, _job_cap), (BUDGET_MONTH, _monthly)):
        match = pattern.match(reason)
        if match:
            return explain(match, blocked)
    match = TRUNCATED.match(reason)
    if match:
        return _truncated(match, _phase(job, "formatter"))
    return Explanation(
        "Paused", reason or "The job is paused.", "Resume puts it back in the queue."
    )


def _job_cap(match: re.Match[str], phase: dict[str, Any] | None) -> Explanation:
    name, tier = _where(phase)
    text = (
        f"This job stopped before its next call because that call could pass the per-job cost "
        f"cap of ${match['cap']} (the setting budget.job_cap_usd): the {name} call on "
        f"{match['model']}{tier} could cost up to ${match['estimate']}, and the job has "
        f"already spent ${match['spent']}. No call was made, so nothing was charged for it."
    )
    raise_it = (
        f"have IT raise budget.job_cap_usd and reload the worker ({RELOAD}), then Resume the job"
    )
    return _budget("Paused: the per-job cost cap", text, raise_it, phase)


def _monthly(match: re.Match[str], phase: dict[str, Any] | None) -> Explanation:
    name, tier = _where(phase)
    text = (
        f"This job stopped before its next call because that call could pass this month's "
        f"budget of ${match['cap']} for all jobs (the setting budget.monthly_usd): the {name} "
        f"call on {match['model']}{tier} could cost up to ${match['estimate']}, and "
        f"${match['spent']} of the month's budget is already spent. No call was made. Other "
        "jobs pause the same way until the budget is raised or a new month starts (UTC)."
    )
    raise_it = (
        f"have IT raise budget.monthly_usd and reload the worker ({RELOAD}), then Resume the job"
    )
    return _budget("Paused: the monthly budget", text, raise_it, phase)


def _budget(title: str, text: str, raise_it: str, phase: dict[str, Any] | None) -> Explanation:
    tier = phase["tier"] if phase else None
    if phase is None or tier is None or tier == TIERS[0]:
        return Explanation(title, text, raise_it[0].upper() + raise_it[1:] + ".")
    cheaper = tier - 1
    fix = (
        f"Retry the {phase['name']} phase at tier {cheaper} ({TIER_NAMES[cheaper]}): the job "
        "goes back in the queue at once, and the cheaper model's estimate may fit. Or "
        f"{raise_it}."
    )
    return Explanation(title, text, fix, retry=(phase["name"], cheaper))


def _truncated(match: re.Match[str], phase: dict[str, Any] | None) -> Explanation:
    text = (
        f"The formatted transcript holds only {match['ratio']}% of the words spoken in the "
        f"captions, and at least {match['threshold']}% was expected (the setting "
        "pipeline.completeness_threshold), so the model most likely stopped before the end. "
        "The job paused so that the later phases do not work from a cut-off transcript; the "
        "draft so far is kept below."
    )
    tier = phase["tier"] if phase else None
    if tier is None or tier >= TIERS[-1]:
        fix = (
            "Retry the formatter phase (it already ran at the strongest tier, 2). If it is cut "
            "short again, check the caption file."
        )
        return Explanation("Paused: the transcript looks cut off", text, fix, ("formatter", 2))
    stronger = tier + 1
    fix = (
        f"Retry the formatter phase at tier {stronger} ({TIER_NAMES[stronger]}): a stronger "
        "model, and the job goes back in the queue at once."
    )
    return Explanation("Paused: the transcript looks cut off", text, fix, ("formatter", stronger))


def _next_phase(job: dict[str, Any]) -> dict[str, Any] | None:
    """The first unfinished phase: where a budget pause stopped the job."""
    return next((p for p in job["phases"] if p["status"] in ("pending", "failed")), None)


def _phase(job: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((p for p in job["phases"] if p["name"] == name), None)


def _where(phase: dict[str, Any] | None) -> tuple[str, str]:
    if phase is None:
        return "next", ""
    tier = phase["tier"]
    at = "" if tier is None else f" at tier {tier} ({TIER_NAMES[tier]})"
    return f"{phase['name']} phase's", at


def _title(name: str) -> str:
    return PHASE_BY_NAME[name].title if name in PHASE_BY_NAME else name
