"""Metrics read from the database when scraped: jobs, the queue, phases, LLM calls, budget, backups.

Reading them at scrape time, rather than counting in memory, keeps them right across the API's
and the worker's processes and across restarts: the database is the one ledger. Each scrape
opens its own connection and closes it, so no connection crosses gunicorn's fork. The
``_total`` counters and the histograms are sums over every row ever written, so Prometheus's
``rate()`` and ``histogram_quantile()`` work on them as on any counter.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from editorial_assistant.backups.records import last_good
from editorial_assistant.config import Settings
from editorial_assistant.costs.service import cost_summary
from editorial_assistant.db import connect

log = logging.getLogger(__name__)
P = "editorial_assistant_"
JOB_STATUSES = ("queued", "running", "paused", "completed", "failed", "cancelled")
TIERS = ("cheap", "default", "strong")
RESULTS = ("ok", "warning", "failed")
PHASE_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)
LLM_BUCKETS = (1, 2.5, 5, 10, 20, 30, 60, 120, 180, 300)


class DatabaseCollector:
    """Everything ``/metrics`` shows that lives in the application database."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime]) -> None:
        self.settings, self.clock = settings, clock

    def collect(self) -> Iterator[Metric]:
        """All families, or only ``database_up 0`` when the database cannot be read."""
        up = GaugeMetricFamily(f"{P}database_up", "1 when the scrape could read the database.")
        try:
            families = self._read()
        except (sqlite3.Error, OSError) as exc:
            log.warning("metrics: cannot read the database: %s", exc)
            families = []
        up.add_metric([], 1 if families else 0)
        yield up
        yield from families

    def _read(self) -> list[Metric]:
        if not self.settings.database_path.is_file():
            return []
        conn = connect(self.settings.database_path)
        try:
            now = self.clock()
            return [
                *job_metrics(conn, now=now),
                phase_durations(conn),
                *llm_metrics(conn),
                *budget_metrics(conn, settings=self.settings, now=now),
                *backup_metrics(conn, now=now),
            ]
        finally:
            conn.close()


def job_metrics(conn: sqlite3.Connection, *, now: datetime) -> list[Metric]:
    """Jobs by status, the queue's depth and the age of its oldest job."""
    counts = dict(conn.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())
    jobs = GaugeMetricFamily(f"{P}jobs", "Jobs by status.", labels=["status"])
    for status in JOB_STATUSES:
        jobs.add_metric([status], counts.get(status, 0))
    depth = GaugeMetricFamily(f"{P}queue_depth", "Jobs waiting for a worker (status queued).")
    depth.add_metric([], counts.get("queued", 0))
    oldest = conn.execute(
        "SELECT min(coalesce(queued_at, created_at)) FROM jobs WHERE status = 'queued'"
    ).fetchone()[0]
    age = GaugeMetricFamily(
        f"{P}queue_oldest_age_seconds", "How long the longest-waiting queued job has waited."
    )
    age.add_metric([], _seconds_since(oldest, now) if oldest else 0)
    return [jobs, depth, age]


def phase_durations(conn: sqlite3.Connection) -> Metric:
    """How long completed phases took, by phase."""
    family = HistogramMetricFamily(
        f"{P}phase_duration_seconds",
        "Duration of completed phases (start to finish of the last run), by phase.",
        labels=["phase"],
    )
    source = (
        "SELECT name AS k0, (julianday(finished_at) - julianday(started_at)) * 86400.0 AS s "
        "FROM phases WHERE status = 'completed' AND started_at IS NOT NULL "
        "AND finished_at IS NOT NULL"
    )
    for labels, buckets, total in _histograms(conn, source, keys=1, bounds=PHASE_BUCKETS):
        family.add_metric(labels, buckets, total)
    return family


def llm_metrics(conn: sqlite3.Connection) -> list[Metric]:
    """LLM calls, failed calls, latency, tokens and cost, by model requested and tier."""
    labels = ["model", "tier"]
    calls = CounterMetricFamily(f"{P}llm_calls", "LLM calls made.", labels=labels)
    cost = CounterMetricFamily(f"{P}llm_cost_usd", "Cost of LLM calls, in USD.", labels=labels)
    tokens = CounterMetricFamily(
        f"{P}llm_tokens", "Tokens sent and received.", labels=[*labels, "kind"]
    )
    rows = conn.execute(
        "SELECT model_requested, tier, count(*), total(cost_usd), total(prompt_tokens), "
        "total(completion_tokens) FROM llm_calls GROUP BY model_requested, tier"
    )
    for model, tier, count, usd, prompt, completion in rows:
        calls.add_metric([model, _tier(tier)], count)
        cost.add_metric([model, _tier(tier)], usd)
        tokens.add_metric([model, _tier(tier), "prompt"], prompt)
        tokens.add_metric([model, _tier(tier), "completion"], completion)
    return [calls, llm_errors(conn), llm_latency(conn), cost, tokens]


def llm_errors(conn: sqlite3.Connection) -> Metric:
    """Calls that did not return a usable answer, by how they failed."""
    family = CounterMetricFamily(
        f"{P}llm_errors",
        "LLM calls that failed (timeout, unreachable, http_429, http_500, malformed, …).",
        labels=["model", "tier", "outcome"],
    )
    rows = conn.execute(
        "SELECT model_requested, tier, outcome, count(*) FROM llm_calls WHERE outcome != 'ok' "
        "GROUP BY model_requested, tier, outcome"
    )
    for model, tier, outcome, count in rows:
        family.add_metric([model, _tier(tier), outcome], count)
    return family


def llm_latency(conn: sqlite3.Connection) -> Metric:
    """How long LLM calls took, failed ones included."""
    family = HistogramMetricFamily(
        f"{P}llm_call_duration_seconds",
        "Duration of LLM calls, failed ones included.",
        labels=["model", "tier"],
    )
    source = "SELECT model_requested AS k0, tier AS k1, latency_seconds AS s FROM llm_calls"
    for (model, tier), buckets, total in _histograms(conn, source, keys=2, bounds=LLM_BUCKETS):
        family.add_metric([model, _tier(tier)], buckets, total)
    return family


def budget_metrics(conn: sqlite3.Connection, *, settings: Settings, now: datetime) -> list[Metric]:
    """This month's LLM spend against the monthly budget (UTC calendar month)."""
    budget = settings.budget
    summary = cost_summary(
        conn, now=now, monthly_budget=budget.monthly_usd, job_cap=budget.job_cap_usd
    )
    values = {
        "monthly_usd": ("The monthly budget (budget.monthly_usd).", budget.monthly_usd),
        "spent_usd": ("Spent on LLM calls this month.", summary["spent_usd"]),
        "remaining_usd": ("Left of this month's budget.", summary["remaining_usd"]),
        "projected_usd": ("This month's spend projected to its end.", summary["projected_usd"]),
        "spent_ratio": (
            "Spent this month / monthly budget.",
            _ratio(summary["spent_usd"], budget.monthly_usd),
        ),
    }
    families: list[Metric] = []
    for name, (meaning, value) in values.items():
        family = GaugeMetricFamily(f"{P}budget_{name}", meaning)
        family.add_metric([], value)
        families.append(family)
    return families


def backup_metrics(conn: sqlite3.Connection, *, now: datetime) -> list[Metric]:
    """The last good backup's age, and how and when the last backup and restore drill ended."""
    good = last_good(conn, kind="backup")
    age = GaugeMetricFamily(
        f"{P}backup_last_success_age_seconds",
        "Since the last backup that ended ok or with a warning (+Inf: never).",
    )
    age.add_metric([], _seconds_since(good["finished_at"], now) if good else math.inf)
    families: list[Metric] = [age]
    for kind, name in (("backup", "backup"), ("drill", "restore_drill")):
        result, finished = _last_finished(conn, kind)
        state = GaugeMetricFamily(
            f"{P}{name}_last_result",
            f"1 for how the last finished {kind} ended (ok, warning, failed); all 0: none yet.",
            labels=["result"],
        )
        for candidate in RESULTS:
            state.add_metric([candidate], 1 if candidate == result else 0)
        families.append(state)
        if kind == "drill":
            since = GaugeMetricFamily(
                f"{P}restore_drill_last_age_seconds",
                "Since the last restore drill ended, however it ended (+Inf: never).",
            )
            since.add_metric([], _seconds_since(finished, now) if finished else math.inf)
            families.append(since)
    return families


def _last_finished(conn: sqlite3.Connection, kind: str) -> tuple[str | None, str | None]:
    row = conn.execute(
        "SELECT result, coalesce(finished_at, started_at) FROM backup_runs "
        "WHERE kind = ? AND result != 'running' ORDER BY id DESC LIMIT 1",
        (kind,),
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)


def _histograms(
    conn: sqlite3.Connection, source: str, *, keys: int, bounds: Sequence[float]
) -> Iterator[tuple[list[Any], list[tuple[str, float]], float]]:
    """Per group of ``k0…`` in ``source``: cumulative bucket counts of ``s`` and their sum."""
    groups = ", ".join(f"k{i}" for i in range(keys))
    cuts = ", ".join("sum(s <= ?)" for _ in bounds)
    query = f"SELECT {groups}, count(*), total(s), {cuts} FROM ({source}) GROUP BY {groups}"
    for row in conn.execute(query, tuple(bounds)):
        count, total, cumulative = row[keys], row[keys + 1], row[keys + 2 :]
        buckets = [(floatToGoString(b), n) for b, n in zip(bounds, cumulative, strict=True)]
        yield list(row[:keys]), [*buckets, ("+Inf", count)], total


def _tier(tier: int) -> str:
    return TIERS[tier] if 0 <= tier < len(TIERS) else str(tier)


def _ratio(spent: float, monthly: float) -> float:
    if monthly > 0:
        return spent / monthly
    return math.inf if spent > 0 else 0.0


def _seconds_since(stored: str, now: datetime) -> float:
    return max((now - datetime.fromisoformat(stored)).total_seconds(), 0.0)
