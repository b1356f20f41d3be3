"""``editorial-assistant costs``: the cost summary in a terminal."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from editorial_assistant.config import Settings
from editorial_assistant.costs.service import cost_summary
from editorial_assistant.db import Database


def print_costs(
    settings: Settings, db: Database, *, now: datetime, as_json: bool, echo: Callable[..., None]
) -> None:
    """Print month to date, the budget, the projection and the breakdowns."""
    summary = cost_summary(
        db.conn(),
        now=now,
        monthly_budget=settings.budget.monthly_usd,
        job_cap=settings.budget.job_cap_usd,
    )
    if as_json:
        echo(json.dumps(summary, indent=2))
        return
    echo(
        f"{summary['month']}: ${summary['spent_usd']:.4f} of ${summary['budget_usd']:.2f} "
        f"spent, ${summary['remaining_usd']:.4f} left, projected ${summary['projected_usd']:.2f}"
        f"; per-job cap ${summary['job_cap_usd']:.2f}"
    )
    for key, title in (("by_phase", "phase"), ("by_model", "model"), ("by_day", "day")):
        echo(f"\nby {title}:")
        for row in summary[key]:
            echo(f"  {row['name']:<40} {row['calls']:>6} calls  ${row['cost_usd']:.4f}")
