"""The five phases, their output files, and how a phase's model tier is chosen.

Tiers are 0 (cheap), 1 (default) and 2 (strong). Each phase has a configured base tier (the
manager reviews at the strong tier by default); the programme's length raises it (> 30 min → at
least 1, > 45 min → 2); an editor's retry can force a tier; a failed attempt escalates one tier.
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


@dataclass(frozen=True)
class Routing:
    """How tiers are chosen; built from the ``routing`` settings."""

    base_tiers: dict[str, int]
    default_above_minutes: float = 30
    strong_above_minutes: float = 45


DEFAULT_ROUTING = Routing({"manager": 2})


def base_tier(
    phase: str, duration_seconds: float, routing: Routing = DEFAULT_ROUTING
) -> tuple[int, str]:
    """The tier a phase starts at, and why."""
    configured = routing.base_tiers.get(phase, 0)
    minutes = duration_seconds / 60
    if minutes > routing.strong_above_minutes:
        by_length, why = 2, f"programme is {minutes:.0f} min (> {routing.strong_above_minutes:g})"
    elif minutes > routing.default_above_minutes:
        by_length, why = 1, f"programme is {minutes:.0f} min (> {routing.default_above_minutes:g})"
    else:
        by_length, why = 0, f"programme is {minutes:.0f} min"
    if configured >= by_length:
        return configured, f"{phase} starts at tier {configured}; {why}"
    return by_length, why


def choose_tier(
    phase: str,
    duration_seconds: float,
    *,
    forced: int | None = None,
    failures: int = 0,
    routing: Routing = DEFAULT_ROUTING,
) -> tuple[int, str]:
    """The tier for the next attempt: forced by an editor, else base plus one per failure."""
    if forced is not None:
        return forced, f"forced to tier {forced} by an editor"
    tier, reason = base_tier(phase, duration_seconds, routing)
    if failures:
        escalated = min(tier + failures, TIERS[-1])
        return escalated, f"{reason}; escalated after {failures} failed attempt(s)"
    return tier, reason
