"""The monitor: every minute (``editorial-assistant-monitor.timer``) it judges the plan's
thresholds, observes them as alerts, sends what changed and pings the dead-man URL.

Each check turns real data into ``Condition`` objects: the API's p95 latency and 5xx share over
the window (its ``/metrics``), queue depth, LLM call errors over the window, the month's spend
against the budget (80 % and 100 %), the data disk, the host's memory, backups and drills,
Litestream keeping up, and every unit in a failed state. A check that cannot look (the API's
listener is off, the first run has no earlier reading) observes nothing, so its alert keeps the
state it had. ``now`` is a parameter, so tests move time without touching the clock.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from editorial_assistant.backups.health import backup_conditions
from editorial_assistant.backups.litestream import UNIT as LITESTREAM
from editorial_assistant.backups.litestream import replica_url, replication_status
from editorial_assistant.config import Settings
from editorial_assistant.costs.service import cost_summary
from editorial_assistant.db import timestamp
from editorial_assistant.monitoring import samples
from editorial_assistant.monitoring.alerts import Condition, Notice, firing, observe
from editorial_assistant.monitoring.channels import deliver_pending, ping_deadman
from editorial_assistant.monitoring.readings import (
    disk_usage,
    host_memory,
    memory_used_ratio,
    used_ratio,
)
from editorial_assistant.monitoring.status import systemctl, under_systemd


@dataclass
class MonitorRun:
    """What one run observed and sent."""

    conditions: list[Condition] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    delivered: int = 0
    firing: list[str] = field(default_factory=list)
    deadman_error: str | None = None


def run_monitor(
    conn: sqlite3.Connection, *, settings: Settings, now: datetime, systemctl: Any = None
) -> MonitorRun:
    """One evaluation: observe every condition, deliver, ping."""
    run = MonitorRun(conditions=conditions(conn, settings=settings, now=now, systemctl=systemctl))
    run.notices = observe(conn, settings=settings, conditions=run.conditions, now=now)
    run.delivered = deliver_pending(conn, settings=settings, now=now)
    run.firing = [row["key"] for row in firing(conn)]
    run.deadman_error = ping_deadman(settings, healthy=not run.firing)
    return run


def conditions(
    conn: sqlite3.Connection, *, settings: Settings, now: datetime, systemctl: Any = None
) -> list[Condition]:
    """Every condition that can be judged now."""
    found = [*api_conditions(settings, now=now), queue_condition(conn, settings=settings)]
    found += llm_conditions(conn, settings=settings, now=now)
    found += budget_conditions(conn, settings=settings, now=now)
    found += resource_conditions(settings)
    found += backup_conditions(conn, settings=settings, now=now)
    found += litestream_conditions(settings)
    found += unit_conditions(systemctl or _systemctl)
    return found


def api_conditions(settings: Settings, *, now: datetime) -> list[Condition]:
    """p95 latency and the 5xx share over the window, from the API's own counters."""
    current = samples.scrape(settings)
    seen = samples.window(settings, current, now=now) if current is not None else None
    limits = settings.monitor
    if seen is None or seen.requests < limits.min_requests:
        return []
    p95, share = seen.p95_seconds or 0.0, seen.errors / seen.requests
    over = f"over the last {seen.minutes:.0f} min ({seen.requests:.0f} requests)"
    return [
        Condition("api.latency", p95 > limits.api_p95_seconds,
                  f"API p95 latency is {p95:.2f} s {over}; limit {limits.api_p95_seconds:g} s."),
        Condition("api.errors", share > limits.api_error_ratio,
                  f"{share:.1%} of API requests failed (5xx) {over}; limit "
                  f"{limits.api_error_ratio:.0%}.", "critical"),
    ]  # fmt: skip


def queue_condition(conn: sqlite3.Connection, *, settings: Settings) -> Condition:
    """Jobs waiting in the queue."""
    depth = conn.execute("SELECT count(*) FROM jobs WHERE status = 'queued'").fetchone()[0]
    limit = settings.monitor.queue_depth
    return Condition("queue.depth", depth > limit, f"{depth} jobs are queued (limit {limit}).")


def llm_conditions(
    conn: sqlite3.Connection, *, settings: Settings, now: datetime
) -> list[Condition]:
    """The share of LLM calls that failed over the window."""
    since = timestamp(now - timedelta(minutes=settings.monitor.window_minutes))
    calls, failed = conn.execute(
        "SELECT count(*), coalesce(sum(outcome != 'ok'), 0) FROM llm_calls "
        "WHERE created_at > ? AND created_at <= ?",
        (since, timestamp(now)),
    ).fetchone()
    limits = settings.monitor
    if calls < limits.min_llm_calls:
        return [Condition("llm.errors", False, f"Only {calls} LLM calls in the window.")]
    share = failed / calls
    summary = (f"{share:.0%} of LLM calls failed over the last {limits.window_minutes:g} min "
               f"({failed} of {calls}); limit {limits.llm_error_ratio:.0%}.")  # fmt: skip
    return [Condition("llm.errors", share > limits.llm_error_ratio, summary)]


def budget_conditions(
    conn: sqlite3.Connection, *, settings: Settings, now: datetime
) -> list[Condition]:
    """This month's spend at the warning share and at the whole monthly budget."""
    budget = settings.budget
    summary = cost_summary(conn, now=now, monthly_budget=budget.monthly_usd,
                           job_cap=budget.job_cap_usd)  # fmt: skip
    spent, cap = summary["spent_usd"], budget.monthly_usd
    said = f"${spent:.2f} of this month's ${cap:.2f} budget is spent ({spent / cap:.0%})."
    warn = settings.monitor.budget_warn_ratio
    return [
        Condition("budget.warning", spent >= warn * cap, said),
        Condition("budget.exhausted", spent >= cap, said + " Jobs pause before each call.",
                  "critical"),
    ]  # fmt: skip


def resource_conditions(settings: Settings) -> list[Condition]:
    """The data folder's disk and the host's memory."""
    found = []
    try:
        _, used, available = disk_usage(settings.data_dir)
    except OSError:  # the data folder is gone: migrations and status say so
        used = available = 0
    if used + available:
        ratio, limit = used_ratio(used, available), settings.monitor.disk_ratio
        found.append(Condition("disk.full", ratio > limit,
                               f"The data disk ({settings.data_dir}) is {ratio:.0%} full "
                               f"(limit {limit:.0%}).", "critical"))  # fmt: skip
    memory = host_memory()
    if memory is not None:
        ratio, limit = memory_used_ratio(*memory), settings.monitor.memory_ratio
        said = f"The host's memory is {ratio:.0%} used (limit {limit:.0%})."
        found.append(Condition("memory.high", ratio > limit, said))
    return found


def litestream_conditions(settings: Settings) -> list[Condition]:
    """Litestream keeping the replica up to date, when a replica is set up."""
    if replica_url(settings) is None:
        return []
    service = None
    if under_systemd():
        service = systemctl("is-active", LITESTREAM, timeout=15) or "unknown"
    status = replication_status(settings, service=service)
    summary = "; ".join(status.problems) or "The Litestream replica keeps up."
    return [Condition("litestream.behind", bool(status.problems), summary, "critical")]


def unit_conditions(systemctl: Any) -> list[Condition]:
    """One condition per unit of ours systemd knows, failed or not."""
    states = systemctl()
    return [
        Condition(f"unit.{unit}", state == "failed", _unit_said(unit, state), "critical",
                  settles=False)
        for unit, state in sorted(states.items())
    ]  # fmt: skip


def _unit_said(unit: str, state: str) -> str:
    return (
        f"{unit} failed: see journalctl -u {unit}" if state == "failed" else f"{unit} is {state}."
    )


def _systemctl() -> dict[str, str]:
    """``{unit: ActiveState}`` for our units; empty when systemd does not run here."""
    if not under_systemd():
        return {}
    listed = systemctl("list-units", "--all", "--plain", "--no-legend", "--no-pager",
                       "editorial-assistant*", timeout=15)  # fmt: skip
    states = {}
    for line in (listed or "").splitlines():
        parts = line.split()
        if len(parts) >= 4 and "@" not in parts[0]:
            states[parts[0]] = parts[2]
    return states
