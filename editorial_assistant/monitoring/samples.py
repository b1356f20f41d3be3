"""The API's latency and error rate over the monitor's window, from its own ``/metrics``.

Prometheus counters only grow, so a rate needs two readings: each monitor run scrapes the
loopback listener (``metrics.listen``), keeps the reading in ``monitor-samples.json`` in the
data folder, and compares it with the newest reading at least ``monitor.window_minutes`` old.
The 95th percentile is estimated from the latency histogram's buckets as Prometheus's
``histogram_quantile`` does (linear within a bucket). An API restart resets the counters: a
reading lower than the one before counts from zero.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from editorial_assistant.config import Settings
from editorial_assistant.db import timestamp

REQUESTS = "editorial_assistant_http_requests"
DURATION = "editorial_assistant_http_request_duration_seconds"
FILE = "monitor-samples.json"


@dataclass(frozen=True)
class Window:
    """Requests answered over the window: how many, how many 5xx, and the latency p95."""

    requests: float
    errors: float
    p95_seconds: float | None
    minutes: float


def scrape(settings: Settings) -> dict[str, Any] | None:
    """The API's request counters now, or None when its listener does not answer."""
    address = settings.metrics.address
    if address is None:
        return None
    host, port = address
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/metrics"
    try:
        answer = httpx.get(url, timeout=5, trust_env=False)
        answer.raise_for_status()
    except httpx.HTTPError:
        return None
    return reading(answer.text)


def reading(text: str) -> dict[str, Any]:
    """Totals from the Prometheus text: requests, 5xx answers, and the summed latency buckets."""
    total, errors, buckets = 0.0, 0.0, dict[str, float]()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{REQUESTS}_total":
                total += sample.value
                errors += sample.value if sample.labels.get("status", "").startswith("5") else 0
            elif sample.name == f"{DURATION}_bucket":
                le = sample.labels["le"]
                buckets[le] = buckets.get(le, 0.0) + sample.value
    return {"requests": total, "errors": errors, "buckets": buckets}


def window(settings: Settings, current: dict[str, Any], *, now: datetime) -> Window | None:
    """Compare ``current`` with the reading a window ago (and keep it); None at the first run."""
    path = settings.data_dir / FILE
    kept = _load(path)
    span = timedelta(minutes=settings.monitor.window_minutes)
    old = [s for s in kept if datetime.fromisoformat(s["at"]) <= now - span]
    base = old[-1] if old else (kept[0] if kept else None)
    keep_from = now - 3 * span
    kept = [s for s in kept if datetime.fromisoformat(s["at"]) >= keep_from]
    _save(path, [*kept, {"at": timestamp(now), **current}])
    if base is None:
        return None
    minutes = (now - datetime.fromisoformat(base["at"])).total_seconds() / 60
    reset = current["requests"] < base["requests"]
    before: dict[str, Any] = {"requests": 0.0, "errors": 0.0, "buckets": {}} if reset else base
    buckets = {le: n - before["buckets"].get(le, 0.0) for le, n in current["buckets"].items()}
    return Window(
        current["requests"] - before["requests"],
        current["errors"] - before["errors"],
        quantile(0.95, buckets),
        minutes,
    )


def quantile(q: float, buckets: dict[str, float]) -> float | None:
    """The ``q`` quantile from cumulative buckets (``le`` → count), as histogram_quantile."""
    bounds = sorted((float(le), count) for le, count in buckets.items())
    if not bounds or bounds[-1][1] <= 0:
        return None
    rank, lower, below = q * bounds[-1][1], 0.0, 0.0
    for upper, count in bounds:
        if count >= rank:
            if math.isinf(upper):
                return lower  # beyond the last finite bucket: its bound is all we know
            return lower + (upper - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = upper, count
    return None


def _load(path: Path) -> list[dict[str, Any]]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return (
        [s for s in loaded if isinstance(s, dict) and "at" in s] if isinstance(loaded, list) else []
    )


def _save(path: Path, samples: list[dict[str, Any]]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(samples), encoding="utf-8")
    os.replace(partial, path)
