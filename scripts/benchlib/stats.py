"""Small numeric helpers: percentiles, summaries of latency samples, ISO timestamp arithmetic."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Count, min, p50, p99 and max of a list of samples."""
    return {
        "n": len(values),
        "min": min(values, default=math.nan),
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "max": max(values, default=math.nan),
    }


def parse_time(text: str) -> datetime:
    """A timestamp as the API returns it (ISO 8601 UTC with milliseconds)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def ms_between(start: str, end: str) -> float:
    """Milliseconds from one API timestamp to another."""
    return (parse_time(end) - parse_time(start)).total_seconds() * 1000


def ratio(value: float, baseline: float) -> float:
    """``value / baseline``, NaN when the baseline is zero or missing."""
    return value / baseline if baseline else math.nan
