"""The weekly restore drill: a copy nobody restores is not a backup.

``run_drill`` restores the newest Litestream replica and the newest daily snapshot held by
restic into scratch space, proves each copy (SQLite's integrity check, a schema this version
knows), compares it with the live database (a copy never holds more jobs or transcripts than
the live one; the replica's newest change is at most ``backup.drill_max_lag_seconds`` behind;
the daily snapshot is younger than ``backup.max_age_hours`` and holds what its manifest says),
compares the caption files restic gives back with the ones on disk byte for byte, records the
result as a ``drill`` run and observes the backup alerts. A source that is not set up is
skipped, which makes the run a ``warning``: never a pass.
"""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from editorial_assistant.backups.health import alert_on_backups
from editorial_assistant.backups.litestream import find_binary, replica_url, restore_replica
from editorial_assistant.backups.lock import exclusive
from editorial_assistant.backups.records import Result, finish_run, list_runs, start_run
from editorial_assistant.backups.restic import open_repository
from editorial_assistant.backups.restore import (
    Facts,
    check_copy,
    latest_daily,
    live_facts,
    pick_daily,
)
from editorial_assistant.backups.service import close_abandoned_runs
from editorial_assistant.backups.snapshot import sha256, unpack_daily
from editorial_assistant.config import Settings
from editorial_assistant.errors import AppError

log = logging.getLogger(__name__)

Outcome = Literal["ok", "skipped", "failed"]
MESSAGE_IDS = {
    "ok": "92b62f27ff784ef99f6fba417bd7c346",
    "warning": "92b62f27ff784ef99f6fba417bd7c347",
    "failed": "6c41a03c2def46b890153496a92cf8c2",
}
LEVELS = {"ok": logging.INFO, "warning": logging.WARNING, "failed": logging.ERROR}
GROWING = ("jobs", "transcripts")  # rows never deleted: a copy can only hold fewer


@dataclass
class Check:
    """How one source fared: ``ok``, ``skipped`` (not set up) or ``failed``, and why."""

    outcome: Outcome
    said: str
    facts: dict[str, Any] = field(default_factory=dict)


def run_drill(
    settings: Settings,
    conn: sqlite3.Connection,
    *,
    trigger: str,
    clock: Callable[[], datetime],
    run: Any = subprocess.run,
) -> dict[str, Any]:
    """Run the drill and return its ``backup_runs`` row."""
    now = clock()
    with exclusive(settings.data_dir):
        close_abandoned_runs(conn, now=now, kind="drill")
        run_id = start_run(conn, kind="drill", trigger=trigger, now=now)
        checks: dict[str, Check] = {}
        try:
            checks = drill_sources(settings, now=now, run=run)
        except Exception as exc:  # a full scratch disk, …: recorded, never silent
            log.exception("restore drill %d: unexpected error", run_id)
            checks["drill"] = Check("failed", f"{type(exc).__name__}: {exc}")
        finally:
            result = _record(conn, run_id, checks, now=clock())
    alert_on_backups(conn, settings=settings, now=clock())
    log.log(LEVELS[result], "restore drill %d %s: %s", run_id, result,
            "; ".join(f"{name}: {check.said}" for name, check in checks.items()),
            extra={"message_id": MESSAGE_IDS[result]})  # fmt: skip
    return next(row for row in list_runs(conn, kind="drill", limit=5) if row["id"] == run_id)


def drill_sources(settings: Settings, *, now: datetime, run: Any) -> dict[str, Check]:
    """Restore and prove each source in its own scratch folder."""
    live = live_facts(settings.database_path)
    with tempfile.TemporaryDirectory(prefix="ea-drill-") as scratch:
        litestream = _timed(lambda: drill_litestream(settings, live, Path(scratch), run=run))
        restic = _timed(lambda: drill_restic(settings, live, Path(scratch), now=now))
    return {"litestream": litestream, "restic": restic}


def _timed(work: Callable[[], Check]) -> Check:
    began = time.monotonic()
    check = work()
    check.facts["seconds"] = round(time.monotonic() - began, 2)
    return check


def _record(
    conn: sqlite3.Connection, run_id: int, checks: dict[str, Check], *, now: datetime
) -> Result:
    outcomes = {check.outcome for check in checks.values()}
    result: Result = "failed" if "failed" in outcomes or not checks else "ok"
    if result == "ok" and "skipped" in outcomes:
        result = "warning"
    problems = [f"{name}: {check.said}" for name, check in checks.items()
                if check.outcome != "ok"]  # fmt: skip
    details = {
        name: {"outcome": c.outcome, "said": c.said, **c.facts} for name, c in checks.items()
    }
    finish_run(conn, run_id=run_id, result=result, now=now, details=details,
               error="; ".join(problems) or ("interrupted" if not checks else None))  # fmt: skip
    return result


def drill_litestream(settings: Settings, live: Facts | str, scratch: Path, *, run: Any) -> Check:
    """Restore the replica's newest state and compare it with the live database."""
    if replica_url(settings) is None:
        return Check("skipped", "no replica is set up (backup.litestream_replica_url)")
    if find_binary(settings) is None:
        return Check("skipped", "Litestream is not installed")
    side = scratch / "litestream.db"
    try:
        restore_replica(settings, side, timestamp=None, run=run)
        copy = check_copy(side, echo=_quiet)
    except AppError as exc:
        return Check("failed", exc.message)
    lag = timedelta(seconds=settings.backup.drill_max_lag_seconds)
    return _verdict(copy, compare(copy, live, within=lag), "the replica")


def drill_restic(settings: Settings, live: Facts | str, scratch: Path, *, now: datetime) -> Check:
    """Restore the newest daily snapshot and the caption files from restic, and prove them."""
    if not settings.backup.restic_repository:
        return Check("skipped", "no restic repository is set up (backup.restic_repository)")
    tree, side = scratch / "restic", scratch / "restic.db"
    transcripts = settings.data_dir / "transcripts"
    try:
        with open_repository(settings) as restic:
            snapshot_id = latest_daily(restic)
            restic.restore(snapshot_id, tree, include=[settings.snapshot_dir, transcripts])
        archive = pick_daily(tree / settings.snapshot_dir.relative_to("/"), None)
        manifest = unpack_daily(archive, side)
        copy = check_copy(side, echo=_quiet)
    except AppError as exc:
        return Check("failed", exc.message)
    problems = compare(copy, live, within=None)
    problems += _against_manifest(copy, manifest, now=now, settings=settings)
    files = compare_files(tree / transcripts.relative_to("/"), transcripts)
    problems += files.pop("problems")
    check = _verdict(copy, problems, f"restic snapshot {snapshot_id[:8]} ({archive.name})")
    check.facts.update(restic_snapshot_id=snapshot_id, snapshot_file=archive.name, **files)
    return check


def _quiet(_: str) -> None:
    """The drill prints nothing while it proves a copy; its record says it all."""


def _verdict(copy: Facts, problems: list[str], name: str) -> Check:
    facts = {"schema": copy.schema, "counts": copy.counts, "newest": copy.newest}
    if problems:
        return Check("failed", f"{name}: " + "; ".join(problems), facts)
    return Check("ok", f"{name} restored and proven: {copy.line()}", facts)


def compare(copy: Facts, live: Facts | str, *, within: timedelta | None) -> list[str]:
    """What is wrong with ``copy`` as a copy of the live database (nothing: an empty list)."""
    if isinstance(live, str):
        return []  # the live database is missing or damaged: the copy is all there is
    problems = [
        f"it holds more {table} ({copy.counts.get(table, 0)}) than the live database "
        f"({live.counts.get(table, 0)}): it is not this database's copy"
        for table in GROWING
        if copy.counts.get(table, 0) > live.counts.get(table, 0)
    ]
    if within is not None and live.newest and not copy.newest:
        problems.append("it is empty while the live database is not")
    elif within is not None and live.newest and copy.newest:
        behind = datetime.fromisoformat(live.newest) - datetime.fromisoformat(copy.newest)
        if behind > within:
            problems.append(f"its newest change is {behind} behind the live database's "
                            f"(allowed {within})")  # fmt: skip
    return problems


def _against_manifest(
    copy: Facts, manifest: dict[str, Any], *, now: datetime, settings: Settings
) -> list[str]:
    problems = [
        f"it holds {copy.counts.get(table)} {table}, its manifest says {count}"
        for table, count in manifest.get("row_counts", {}).items()
        if table in copy.counts and copy.counts[table] != count
    ]
    age = now - datetime.fromisoformat(manifest["created_at"])
    if age > timedelta(hours=settings.backup.max_age_hours):
        problems.append(f"the newest daily snapshot in restic is {age} old "
                        f"(backup.max_age_hours is {settings.backup.max_age_hours:g})")  # fmt: skip
    return problems


def compare_files(restored: Path, live: Path) -> dict[str, Any]:
    """Each caption file restic gave back against the one on disk, by SHA-256."""
    compared, missing, problems = 0, 0, []
    for path in sorted(p for p in restored.rglob("*") if p.is_file()) if restored.is_dir() else []:
        twin = live / path.relative_to(restored)
        if not twin.is_file():
            missing += 1
        elif sha256(path) != sha256(twin):
            problems.append(f"{twin} differs from its copy in restic")
        compared += twin.is_file()
    if missing:
        problems.append(f"{missing} caption files in restic are gone from {live}")
    return {"files_compared": compared, "files_missing_on_disk": missing, "problems": problems}
