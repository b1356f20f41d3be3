"""The local backend's manager draft: ``qa_review.md``, a mechanical checklist and verdict.

Every item is computed from the outputs written so far (``context.previous``): each expected
draft is present, the SEO copy is within the character limits and has keywords and tags, the
formatted transcript keeps at least 70 % of the spoken words, and it labels speakers when the
captions name any. One failed item makes the verdict NEEDS_REVISION.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from editorial_assistant.llm.client import PhaseContext
from editorial_assistant.pipeline.checks import (
    COMPLETENESS_THRESHOLD,
    SeoDraft,
    completeness_ratio,
    content_words,
    limit_problems,
    parse_seo,
    spoken_words,
)
from editorial_assistant.pipeline.phases import PHASE_BY_NAME

REVIEWED_PHASES = ("analyst", "formatter", "seo")

_SPEAKER_LABEL = re.compile(r"^\*\*[^*\n]+:\*\*", re.M)


@dataclass(frozen=True)
class Check:
    """One checklist line, and what to say under Needs attention when it fails."""

    passed: bool
    text: str
    problem: str = ""


def draft_review(context: PhaseContext) -> str:
    """The QA checklist and verdict over the drafts written so far."""
    checks = review_checks(context)
    failed = [check for check in checks if not check.passed]
    parts = [
        f"# QA review: {context.media_id}",
        f"**Verdict:** {'NEEDS_REVISION' if failed else 'APPROVED'}",
        "## Checklist\n\n" + "\n".join(_line(check) for check in checks),
    ]
    if failed:
        parts.append("## Needs attention\n\n" + "\n".join(f"- {c.problem}" for c in failed))
    parts.append(
        "## Notes\n\nChecked mechanically by the local backend (presence, limits, completeness, "
        "speaker labels). Read the drafts for accuracy and tone before publishing."
    )
    return "\n\n".join(parts) + "\n"


def _line(check: Check) -> str:
    return f"- [{'x' if check.passed else ' '}] {check.text}"


def review_checks(context: PhaseContext) -> list[Check]:
    """Every checklist item for the drafts in ``context.previous``."""
    previous = context.previous
    seo = parse_seo(previous.get("seo", ""))
    checks = [_presence(name, previous.get(name, "")) for name in REVIEWED_PHASES]
    checks += _limit_checks(seo, context)
    checks += [_listed("Keywords", seo.keywords), _listed("Tags", seo.tags)]
    formatted = previous.get("formatter", "")
    checks += [_completeness(formatted, context), _speaker_labels(formatted, context)]
    return checks


def _presence(name: str, body: str) -> Check:
    phase = PHASE_BY_NAME[name]
    what = f"{phase.title} (`{phase.output}`)"
    return Check(content_words(body) > 0, f"{what} is present", f"{what} is missing or empty.")


def _limit_checks(seo: SeoDraft, context: PhaseContext) -> list[Check]:
    limits = context.limits
    problems = limit_problems(seo, limits)
    fields = (
        ("Title", seo.title, limits.title),
        ("Short description", seo.short_description, limits.short_description),
        ("Long description", seo.long_description, limits.long_description),
    )
    checks = []
    for label, text, limit in fields:
        problem = next((p for p in problems if p.startswith(f"{label} is")), "")
        detail = f"{label} within the limit ({len(text)}/{limit} characters)"
        checks.append(Check(not problem, detail, problem))
    return checks


def _listed(label: str, items: list[str]) -> Check:
    text = f"{label} present ({len(items)})"
    return Check(bool(items), text, f"{label} are missing from the SEO draft.")


def _completeness(formatted: str, context: PhaseContext) -> Check:
    spoken = spoken_words(context.transcript.spoken_text)
    ratio = completeness_ratio(formatted, spoken)
    text = (
        f"Formatted transcript is complete (ratio {ratio:.2f}, at least "
        f"{COMPLETENESS_THRESHOLD:.2f}; {content_words(formatted):,} of {spoken:,} spoken words)"
    )
    problem = (
        f"The formatted transcript keeps only {ratio:.0%} of the spoken words "
        f"(at least {COMPLETENESS_THRESHOLD:.0%} expected); it may be truncated."
    )
    return Check(ratio >= COMPLETENESS_THRESHOLD, text, problem)


def _speaker_labels(formatted: str, context: PhaseContext) -> Check:
    if not context.transcript.speakers:
        return Check(True, "Speaker labels not needed (the captions name no speakers)")
    labels = len(_SPEAKER_LABEL.findall(formatted))
    text = f"Speaker labels present ({labels} labelled paragraphs)"
    problem = (
        "The formatted transcript has no **Name:** speaker labels, but the captions name speakers."
    )
    return Check(labels > 0, text, problem)
