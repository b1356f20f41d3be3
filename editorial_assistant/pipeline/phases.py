"""The five phases, their output files, and how a phase's model tier is chosen.

Tiers are 0 (cheap), 1 (default) and 2 (strong). The programme's length picks the base tier
(≤ 30 min → 0, ≤ 45 min → 1, longer → 2), the manager always reviews at the strong tier, an
editor's retry can force a tier, and a failed attempt escalates one tier.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    """One step of the pipeline and the Markdown file it writes."""

    name: str
    output: str
    title: str


PHASES: tuple[Phase, ...] = (
    Phase("analyst", "brainstorming.md", "Brainstorming"),
    Phase("formatter", "formatted_transcript.md", "Formatted transcript"),
    Phase("seo", "seo.md", "SEO metadata"),
    Phase("manager", "qa_review.md", "QA review"),
    Phase("timestamp", "timestamps.md", "Chapters"),
)
PHASE_NAMES: tuple[str, ...] = tuple(phase.name for phase in PHASES)
PHASE_BY_NAME = {phase.name: phase for phase in PHASES}
OUTPUT_NAMES = {phase.output: phase.name for phase in PHASES}
TIERS = (0, 1, 2)
TIER_NAMES = ("cheap", "default", "strong")


def base_tier(phase: str, duration_seconds: float) -> tuple[int, str]:
    """The tier a phase starts at, and why."""
    if phase == "manager":
        return 2, "the manager reviews at the strong tier"
    minutes = duration_seconds / 60
    if minutes <= 30:
        return 0, f"programme is {minutes:.0f} min (≤ 30 min)"
    if minutes <= 45:
        return 1, f"programme is {minutes:.0f} min (≤ 45 min)"
    return 2, f"programme is {minutes:.0f} min (> 45 min)"


def choose_tier(
    phase: str, duration_seconds: float, *, forced: int | None = None, failures: int = 0
) -> tuple[int, str]:
    """The tier for the next attempt: forced by an editor, else base plus one per failure."""
    if forced is not None:
        return forced, f"forced to tier {forced} by an editor"
    tier, reason = base_tier(phase, duration_seconds)
    if failures:
        escalated = min(tier + failures, TIERS[-1])
        return escalated, f"{reason}; escalated after {failures} failed attempt(s)"
    return tier, reason
