"""Health at a glance: one line per component (ok, warn or fail, and why) for ``status``,
``doctor`` and ``GET /api/system/status``.

Each check reuses what its own domain already knows (``backup_status``, ``replication_status``,
``cost_summary``, the resource readers, the API probe) and only turns the answer into a level.
A check never raises and never waits long: every probe has ``status.probe_timeout_seconds``,
and a check that cannot be made is itself the finding, with the reason.
"""

from __future__ import annotations

import sqlite3
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from editorial_assistant.backups.health import backup_status
from editorial_assistant.backups.litestream import UNIT as LITESTREAM_UNIT
from editorial_assistant.backups.litestream import replication_status
from editorial_assistant.config import Settings
from editorial_assistant.costs.service import cost_summary
from editorial_assistant.db import latest_version, schema_version, timestamp
from editorial_assistant.llm.factory import backend_name
from editorial_assistant.monitoring import thresholds as limit
from editorial_assistant.monitoring.readings import (
    disk_usage,
    host_memory,
    memory_used_ratio,
    service_memory,
    used_ratio,
)
from editorial_assistant.ops.probe import Endpoint, check

Level = Literal["ok", "warn", "fail"]
RANK: dict[str, int] = {"ok": 0, "warn": 1, "fail": 2}
SYSTEMD = Path("/run/systemd/system")
WORKER_UNIT = "editorial-assistant-worker.service"


@dataclass(frozen=True)
class Component:
    """One line of the status: what, how it stands, why; ``fix`` says what to do (doctor)."""

    name: str
    level: Level
    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def worst(components: list[Component]) -> Level:
    """The overall level: the worst of the components' (ok when there are none)."""
    levels: list[Level] = [component.level for component in components]
    return max(levels, key=RANK.__getitem__, default="ok")


def status_document(found: list[Component], *, now: datetime) -> dict[str, Any]:
    """What ``--json`` prints and the API returns: overall level, components, when."""
    return {
        "level": worst(found),
        "components": [component.as_dict() for component in found],
        "checked_at": timestamp(now),
    }


def guarded(name: str, check: Callable[[], Component]) -> Component:
    """``check()``, or a FAIL saying why it could not be made: a check never raises."""
    try:
        return check()
    except Exception as exc:  # one broken check must not hide the others
        return Component(name, "fail", f"could not check: {type(exc).__name__}: {exc}")


def under_systemd(root: Path = SYSTEMD) -> bool:
    """Whether this machine runs systemd (its runtime folder exists)."""
    return root.is_dir()


def systemctl(*args: str, timeout: float) -> str | None:
    """``systemctl args`` stdout, stripped; None when it cannot be run in time."""
    try:
        done = subprocess.run(
            ["systemctl", *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def system_status(
    conn: sqlite3.Connection | None, *, settings: Settings, now: datetime, systemd: bool = False
) -> list[Component]:
    """Every component, in a fixed order; ``conn`` None means there is no database yet."""

    def unit(name: str) -> str | None:
        if not systemd:
            return None
        return systemctl("is-active", name, timeout=settings.status.probe_timeout_seconds)

    def stored(name: str, read: Callable[[sqlite3.Connection], Component]) -> Component:
        if conn is None:
            why = f"no database at {settings.database_path}"
            return Component(name, "fail", why, fix="Run `editorial-assistant migrate`.")
        return read(conn)

    checks: list[tuple[str, Callable[[], Component]]] = [
        ("api", lambda: api_component(settings)),
        ("worker", lambda: stored("worker", lambda c: worker_component(
            c, settings=settings, now=now, unit_state=unit(WORKER_UNIT)))),
        ("migrations", lambda: stored("migrations", migrations_component)),
        ("queue", lambda: stored("queue", lambda c: queue_component(
            c, settings=settings, now=now))),
        ("llm", lambda: stored("llm", lambda c: llm_component(c, settings=settings))),
        ("litestream", lambda: litestream_component(settings, unit_state=unit(LITESTREAM_UNIT))),
        ("backup", lambda: stored("backup", lambda c: backup_component(
            c, settings=settings, now=now))),
        ("cloudflared", lambda: cloudflared_component(settings)),
        ("disk", lambda: disk_component(settings)),
        ("memory", lambda: memory_component(settings)),
        ("budget", lambda: stored("budget", lambda c: budget_component(
            c, settings=settings, now=now))),
    ]  # fmt: skip
    return [guarded(name, run) for name, run in checks]


def api_component(settings: Settings) -> Component:
    """The API answers ``/readyz`` on its socket (or TCP port)."""
    endpoint = Endpoint.of(settings)
    problem = check(endpoint, "/readyz", timeout=settings.status.probe_timeout_seconds)
    if problem is None:
        return Component("api", "ok", f"ready at {endpoint}", {"endpoint": str(endpoint)})
    return Component("api", "fail", problem, {"endpoint": str(endpoint)})


def worker_component(
    conn: sqlite3.Connection, *, settings: Settings, now: datetime, unit_state: str | None = None
) -> Component:
    """Is the worker consuming? Running jobs' heartbeats, else the oldest queued job's wait."""
    if unit_state is not None and unit_state != "active":
        return Component("worker", "fail", f"{WORKER_UNIT} is {unit_state or 'unknown'}")
    running = conn.execute(
        "SELECT id, heartbeat_at FROM jobs WHERE status = 'running' ORDER BY heartbeat_at"
    ).fetchall()
    waiting = _oldest_queued(conn)
    if running:
        oldest = running[0]
        beat = _age(oldest["heartbeat_at"], now) if oldest["heartbeat_at"] else None
        details = {"running": len(running), "oldest_heartbeat_seconds": beat}
        if beat is None or beat > settings.jobs.stale_after_seconds:
            why = f"job {oldest['id']} runs but its worker has not beaten for {_span(beat)}"
            return Component("worker", "fail", why, details)
        return Component("worker", "ok", f"consuming: {len(running)} running", details)
    if waiting is None:
        return Component("worker", "ok", "idle: nothing queued or running")
    age = _age(waiting["since"], now)
    details = {"oldest_queued_id": waiting["id"], "oldest_queued_seconds": age}
    if age > settings.status.worker_stale_minutes * 60:
        why = f"not consuming: job {waiting['id']} has waited {_span(age)} and none is running"
        return Component("worker", "fail", why, details)
    return Component("worker", "ok", f"job {waiting['id']} queued {_span(age)} ago", details)


def migrations_component(conn: sqlite3.Connection) -> Component:
    """The database's schema version against the one this code needs."""
    current, latest = schema_version(conn), latest_version()
    details = {"schema_version": current, "latest_version": latest}
    if current == latest:
        return Component("migrations", "ok", f"schema at version {current}", details)
    if current < latest:
        why = f"schema at version {current}, this code needs {latest}"
        return Component("migrations", "fail", why, details, "Run `editorial-assistant migrate`.")
    why = f"schema at version {current}, newer than this code knows ({latest})"
    return Component("migrations", "fail", why, details, "Install the newer package again.")


def queue_component(conn: sqlite3.Connection, *, settings: Settings, now: datetime) -> Component:
    """How many jobs wait, and for how long the oldest has."""
    depth = int(conn.execute("SELECT count(*) FROM jobs WHERE status = 'queued'").fetchone()[0])
    oldest = _oldest_queued(conn)
    age = _age(oldest["since"], now) if oldest else None
    details = {"depth": depth, "oldest_queued_seconds": age}
    why = f"{depth} queued" + (f", the oldest for {_span(age)}" if age is not None else "")
    level: Level = "warn" if depth > settings.monitor.queue_depth else "ok"
    return Component("queue", level, why, details)


def llm_component(conn: sqlite3.Connection, *, settings: Settings) -> Component:
    """The backend that runs, whether it has its key, and how the last call ended."""
    backend, has_key = backend_name(settings), settings.secret("openrouter_api_key") is not None
    last = conn.execute(
        "SELECT outcome, error, created_at, model_requested FROM llm_calls ORDER BY id DESC LIMIT 1"
    ).fetchone()
    details = {"backend": backend, "key_present": has_key, "last_call": dict(last or {}) or None}
    if settings.llm.backend == "openrouter" and not has_key:
        fix = "Run `editorial-assistant secret set openrouter_api_key`."
        return Component("llm", "fail", "openrouter backend but no openrouter_api_key", details,
                         fix)  # fmt: skip
    if backend == "local" and settings.llm.backend == "auto":
        why = "no openrouter_api_key: jobs run on the local stand-in backend"
        fix = "Run `editorial-assistant secret set openrouter_api_key`."
        return Component("llm", "warn", why, details, fix)
    said = f"{backend} backend" + (" with its key" if backend == "openrouter" else "")
    if last is None:
        return Component("llm", "ok", f"{said}; no call made yet", details)
    if last["outcome"] != "ok":
        why = f"{said}; the last call ({last['created_at']}) ended {last['outcome']}: "
        return Component("llm", "warn", why + str(last["error"] or "")[:200], details)
    return Component("llm", "ok", f"{said}; the last call ({last['created_at']}) was ok", details)


def litestream_component(settings: Settings, *, unit_state: str | None = None) -> Component:
    """Litestream runs and the replica keeps up; not set up is a warning."""
    found = replication_status(settings, service=unit_state)
    details = found.as_dict()
    if found.binary is None or found.url is None:
        missing = "no litestream binary" if found.binary is None else "no replica URL"
        fix = "Set up Litestream: docs/guides/install.md, section Continuous replication."
        return Component("litestream", "warn", f"not set up: {missing}", details, fix)
    if found.problems:
        return Component("litestream", "fail", "; ".join(found.problems), details)
    why = f"replicating; the replica holds transaction {found.replica_txid}"
    return Component("litestream", "ok", why, details)


def backup_component(conn: sqlite3.Connection, *, settings: Settings, now: datetime) -> Component:
    """The last backup and restore drill, as ``backup status`` judges them."""
    found = backup_status(conn, settings=settings, now=now)
    details = {key: found[key] for key in ("last_good_age_hours", "max_age_hours", "running")}
    details["drill_last_good_age_days"] = found["drill"]["last_good_age_days"]
    if not found["problems"]:
        why = f"last good backup {found['last_good_age_hours']} h ago"
        drill = found["drill"]["last_good_age_days"]
        return Component("backup", "ok", why + f", drill {drill} days ago" * (drill is not None),
                         details)  # fmt: skip
    age, last = found["last_good_age_hours"], found["last_run"]
    failing = (age is not None and age > found["max_age_hours"]) or bool(found["drill"]["problems"])
    failing = failing or (last is not None and last["result"] == "failed")
    fix = "See docs/guides/backups.md, section What each failure means."
    return Component("backup", "fail" if failing else "warn", "; ".join(found["problems"]),
                     details, fix)  # fmt: skip


def tunnel_credentials(settings: Settings) -> list[Path]:
    """The tunnel credentials beside cloudflared's configuration (what its unit waits for)."""
    return sorted((settings.status.cloudflared_config.parent / "cloudflared").glob("*.json"))


def cloudflared_component(settings: Settings) -> Component:
    """cloudflared's ``/ready`` when the tunnel is set up; not set up is fine (the package runs
    without a tunnel, its unit is skipped, not failed)."""
    if not tunnel_credentials(settings):
        folder = settings.status.cloudflared_config.parent / "cloudflared"
        return Component("cloudflared", "ok", f"not set up (no credential in {folder})")
    address = settings.status.cloudflared_metrics
    url = f"http://{address}/ready"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        with direct.open(url, timeout=settings.status.probe_timeout_seconds) as answer:
            status = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        reason = getattr(exc, "reason", exc)
        return Component("cloudflared", "fail", f"{url} did not answer: {reason}", {"url": url})
    if status == 200:
        return Component("cloudflared", "ok", "connected to Cloudflare (/ready is 200)",
                         {"url": url})  # fmt: skip
    return Component("cloudflared", "fail", f"{url} answered {status}: no connection to "
                     "Cloudflare", {"url": url})  # fmt: skip


def disk_component(settings: Settings) -> Component:
    """How full the data folder's filesystem is."""
    data_dir = settings.data_dir
    if not data_dir.is_dir():
        return Component("disk", "fail", f"the data folder {data_dir} does not exist")
    _size, used, available = disk_usage(data_dir)
    ratio = used_ratio(used, available)
    details = {"used_ratio": round(ratio, 4), "available_bytes": available}
    why = f"{ratio:.0%} used, {_bytes(available)} free on {data_dir}'s filesystem"
    level: Level = "ok"
    if ratio > limit.DISK_FAIL:
        level = "fail"
    elif ratio > settings.monitor.disk_ratio:
        level = "warn"
    return Component("disk", level, why, details)


def memory_component(settings: Settings) -> Component:
    """The host's memory, and each unit's against its MemoryMax=."""
    host = host_memory()
    if host is None:
        return Component("memory", "warn", "cannot read the host's memory")
    total, available = host
    ratio = memory_used_ratio(total, available)
    details: dict[str, Any] = {"host_used_ratio": round(ratio, 4), "available_bytes": available}
    tight = [
        f"{unit} at {used / most:.0%} of its MemoryMax="
        for unit, (used, most) in service_memory().items()
        if most and used / most > settings.monitor.memory_ratio
    ]
    why = f"host {ratio:.0%} used, {_bytes(available)} available"
    level: Level = "warn" if ratio > settings.monitor.memory_ratio or tight else "ok"
    return Component("memory", level, "; ".join([why, *tight]), details)


def budget_component(conn: sqlite3.Connection, *, settings: Settings, now: datetime) -> Component:
    """This month's LLM spend against ``budget.monthly_usd``."""
    budget = settings.budget
    summary = cost_summary(
        conn, now=now, monthly_budget=budget.monthly_usd, job_cap=budget.job_cap_usd
    )
    spent = summary["spent_usd"]
    ratio = spent / budget.monthly_usd if budget.monthly_usd else (1.0 if spent else 0.0)
    details = {k: summary[k] for k in ("month", "spent_usd", "budget_usd", "projected_usd")}
    why = f"${spent:.2f} of ${budget.monthly_usd:.2f} spent in {summary['month']} ({ratio:.0%})"
    fix = "Raise budget.monthly_usd, or wait for the month to end."
    if ratio >= limit.BUDGET_FAIL:
        return Component("budget", "fail", why + ": new LLM calls are refused", details, fix)
    if ratio >= settings.monitor.budget_warn_ratio:
        return Component("budget", "warn", why, details, fix)
    return Component("budget", "ok", why, details)


def _oldest_queued(conn: sqlite3.Connection) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT id, coalesce(queued_at, created_at) AS since FROM jobs WHERE status = 'queued' "
        "ORDER BY since LIMIT 1"
    ).fetchone()
    return row


def _age(stored: str, now: datetime) -> float:
    return max((now - datetime.fromisoformat(stored)).total_seconds(), 0.0)


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "ever"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _bytes(count: int) -> str:
    return f"{count / 2**30:.1f} GiB"
