"""Putting a copy of the database back: fetch it beside the live one, prove it, swap it in.

``fetch_copy`` puts the copy at a side path in the data folder (the same file system, so the
swap is one atomic rename), from Litestream, a daily snapshot, restic or a database file. Then
``check_copy`` proves it (``integrity_check``, a schema this code knows, not empty),
``refuse_loss`` refuses it when the live database holds rows changed after the copy's newest
change (unless forced), ``swap`` keeps the live database as ``replaced-<time>.db`` (its WAL
folded in) and renames the copy into place, ``migrate_copy`` brings an older copy up to date,
``restore_files`` brings back the transcripts and outputs a restic snapshot holds, and
``record_restore`` notes the restore in the restored database. Each tells ``echo`` what it did.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from editorial_assistant.audit.events import Action
from editorial_assistant.audit.service import record
from editorial_assistant.backups.litestream import restore_replica, utc_timestamp
from editorial_assistant.backups.records import finish_run, start_run
from editorial_assistant.backups.restic import Restic, open_repository
from editorial_assistant.backups.snapshot import STAMP, list_dailies, manifest_path, unpack_daily
from editorial_assistant.cli_support import operator
from editorial_assistant.config import Settings
from editorial_assistant.db import connect, latest_version, migrate, schema_version, transaction
from editorial_assistant.errors import AppError, Conflict, NotFound

Echo = Callable[[str], None]
Kind = Literal["litestream", "snapshot", "restic", "file"]
# Where each table records when a row last changed: what "newer data" means.
CHANGED = {
    "jobs": "updated_at",
    "transcripts": "created_at",
    "outputs": "created_at",
    "job_events": "at",
    "llm_calls": "created_at",
    "audit_log": "at",
    "users": "updated_at",
}
# A restore's own audit entry is no data to lose: undoing a restore must not be refused for it.
NOT_DATA = {"audit_log": f"action != '{Action.DATABASE_RESTORED.value}'"}
SIDECARS = ("-wal", "-shm")


class RestoreRefused(Conflict):
    """The copy must not replace the live database (it would lose data, or is unusable)."""

    code = "restore_refused"


@dataclass(frozen=True)
class Source:
    """Where a copy comes from: ``ref`` is a time (litestream), a date (snapshot) or an ID."""

    kind: Kind
    ref: str | None = None

    def describe(self) -> str:
        """``litestream (newest state)``, ``snapshot 2025-03-01``, ``restic 4f2a…``."""
        return (
            f"{self.kind} ({self.ref or 'newest state'})"
            if self.kind == "litestream"
            else (f"{self.kind} {self.ref or 'latest'}")
        )


@dataclass(frozen=True)
class Facts:
    """What a database holds: schema version, row counts, and its newest change."""

    schema: int
    counts: dict[str, int]
    newest: str | None

    def line(self) -> str:
        """One line for a person."""
        jobs, transcripts = self.counts.get("jobs", 0), self.counts.get("transcripts", 0)
        return (
            f"schema {self.schema}, {jobs} jobs, {transcripts} transcripts, "
            f"newest change {self.newest or 'none'}"
        )


def fetch_copy(
    settings: Settings, source: Source, side: Path, *, tree: Path, run: Any = subprocess.run
) -> dict[str, Any]:
    """Fetch the copy ``source`` names to ``side`` (restic's files under ``tree``); what to
    record about it."""
    if source.kind == "litestream":
        when = utc_timestamp(source.ref) if source.ref else None
        restore_replica(settings, side, timestamp=when, run=run)
        return {"timestamp": when}
    if source.kind == "snapshot":
        archive = pick_daily(settings.snapshot_dir, source.ref)
        unpack_daily(archive, side)
        return {"snapshot_file": archive.name}
    if source.kind == "file":
        return {"file": str(copy_file(settings.data_dir / str(source.ref), side))}
    with open_repository(settings) as restic:
        snapshot_id = source.ref if source.ref not in (None, "latest") else latest_daily(restic)
        restic.restore(str(snapshot_id), tree)
    archive = pick_daily(tree / settings.snapshot_dir.relative_to("/"), None)
    unpack_daily(archive, side)
    return {"restic_snapshot_id": snapshot_id, "snapshot_file": archive.name}


def copy_file(path: Path, side: Path) -> Path:
    """Copy a database file (and a WAL beside it) to ``side``; its path."""
    if not path.is_file():
        raise NotFound(
            f"There is no database file {path}.",
            code="file_not_found",
            hint="Name a replaced-<time>.db in the data folder, or a full path.",
        )
    shutil.copyfile(path, side)
    if Path(f"{path}-wal").exists():
        shutil.copyfile(f"{path}-wal", f"{side}-wal")
    return path


def pick_daily(folder: Path, ref: str | None) -> Path:
    """The newest daily snapshot in ``folder`` of the day ``ref`` (UTC, as in the file names:
    ``2025-03-01``, a file name, or ``latest``/None for the newest of all)."""
    dailies = list_dailies(folder)
    wanted = (ref or "latest").replace("-", "").replace(":", "")
    found = [
        path
        for when, path in dailies
        if wanted in ("latest", path.name.replace("-", ""))
        or when.strftime(STAMP).startswith(wanted)
    ]
    if not found:
        have = f"{dailies[0][1].name} to {dailies[-1][1].name}" if dailies else "none at all"
        raise NotFound(
            f"No daily snapshot {'from ' + ref if ref else ''} in {folder} (there are {have}).",
            code="snapshot_not_found",
            hint="Name a day such as 2025-03-01 (UTC), or `latest`.",
        )
    return found[-1]


def latest_daily(restic: Restic) -> str:
    """The ID of the newest restic snapshot that holds the daily database snapshot."""
    found = restic.snapshots(tag="daily")
    if not found:
        raise NotFound("The restic repository holds no daily snapshot.", code="snapshot_not_found")
    return str(found[-1]["id"])


def database_facts(path: Path) -> Facts:
    """The facts of the database at ``path`` (``sqlite3.DatabaseError`` if it is damaged)."""
    if not path.is_file():
        raise sqlite3.DatabaseError(f"{path} does not exist")
    with closing(read_only(path)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        counts, newest = {}, []
        for table, column in CHANGED.items():
            if table in tables:
                count, last = conn.execute(
                    f"SELECT count(*), max({column}) FROM {table}"
                ).fetchone()
                counts[table] = count
                newest += [last] if last else []
        return Facts(schema_version(conn), counts, max(newest, default=None))


def read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection: opening a damaged database read-write can delete its WAL."""
    return sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True)


def live_facts(path: Path) -> Facts | str:
    """The live database's facts, or why there are none (missing, damaged)."""
    if not path.exists():
        return "missing"
    try:
        return database_facts(path)
    except sqlite3.DatabaseError as exc:
        return f"unreadable ({exc})"


def check_copy(side: Path, echo: Echo) -> Facts:
    """Prove the copy: SQLite's integrity check, a schema this code knows, not empty."""
    try:
        with closing(sqlite3.connect(side)) as conn:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        facts = database_facts(side)
    except sqlite3.DatabaseError as exc:
        verdict, facts = str(exc), None
    if verdict != "ok" or facts is None:
        raise RestoreRefused(f"The copy fails SQLite's integrity check: {verdict}", hint=OLDER)
    if facts.schema > latest_version():
        raise RestoreRefused(
            f"The copy has schema {facts.schema}; this version knows {latest_version()}.",
            hint="Install the newer editorial-assistant package that wrote it, then restore.",
        )
    if facts.schema == 0:
        raise RestoreRefused(
            "The copy is an empty database (no schema): its source holds no usable data.",
            hint="With Litestream, restore the time before the loss: --timestamp. " + OLDER,
        )
    echo(f"   integrity ok; {facts.line()} (this version knows schema {latest_version()})")
    return facts


OLDER = "Try an older copy (docs/guides/restore.md, 'Which copy')."


def refuse_loss(live: Path, facts: Facts | str, copy: Facts, *, force: bool, echo: Echo) -> None:
    """Refuse when the live database holds changes newer than the copy's newest, unless forced."""
    if isinstance(facts, str):
        echo(f"   the live database is {facts}: there is nothing in it to lose")
        return
    echo(f"   live database: {facts.line()}")
    lost = newer_rows(live, since=copy.newest or "")
    if not lost:
        echo("   nothing in the live database is newer than the copy: no data is lost")
        return
    said = f"the live database holds {', '.join(lost)} changed after {copy.newest}, the copy's"
    if not force:
        raise RestoreRefused(
            f"Not restoring: {said} newest change; this restore would lose them.",
            hint="Restore a newer copy, or run again with --force to replace them on purpose "
            "(the live database is kept as replaced-<time>.db).",
        )
    echo(f"   --force: {said} newest change; they are replaced (and kept in replaced-*.db)")


def refuse_fewer_jobs(folder: Path, copy: Facts, *, force: bool, echo: Echo) -> None:
    """Refuse a copy with fewer jobs than the newest daily snapshot: jobs are never deleted, so
    it is older than that snapshot, or a database the service made anew after a loss (which
    Litestream then replicated as its newest state)."""
    dailies = list_dailies(folder)
    try:
        manifest = json.loads(manifest_path(dailies[-1][1]).read_text(encoding="utf-8"))
        before = int(manifest["row_counts"]["jobs"])
    except (IndexError, OSError, ValueError, KeyError, TypeError):
        return
    if copy.counts.get("jobs", 0) >= before:
        return
    said = f"the copy holds {copy.counts.get('jobs', 0)} jobs, the daily snapshot "
    said += f"{dailies[-1][1].name} {before}"
    if not force:
        raise RestoreRefused(
            f"Not restoring: {said}. The copy is older than that snapshot, or it is a database "
            "made anew after the loss.",
            hint="With Litestream, restore a time before the loss (--timestamp …); or restore "
            "that snapshot (--from snapshot); --force restores this copy anyway.",
        )
    echo(f"   --force: {said}")


def newer_rows(path: Path, *, since: str) -> list[str]:
    """``["3 jobs", "1 audit_log"]``: rows of the database at ``path`` changed after ``since``."""
    found = []
    with closing(read_only(path)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        for table, column in CHANGED.items():
            if table in tables:
                query = f"SELECT count(*) FROM {table} WHERE {column} > ?"
                query += f" AND {NOT_DATA[table]}" if table in NOT_DATA else ""
                count = conn.execute(query, (since,)).fetchone()[0]
                found += [f"{count} {table}"] if count else []
    return found


def fold_wal(path: Path) -> None:
    """Fold the WAL into the database file and leave no ``-wal``/``-shm`` beside it."""
    with closing(sqlite3.connect(path)) as conn:
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    if busy:
        raise AppError(f"{path.name} is still in use: its WAL cannot be folded in.")
    for suffix in SIDECARS:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def swap(live: Path, side: Path, *, stamp: str, echo: Echo) -> Path | None:
    """Put ``side`` in place of ``live`` in one rename; the old database stays as
    ``replaced-<stamp>.db`` (WAL folded in, or beside it when it cannot be read)."""
    fold_wal(side)
    kept = live.with_name(f"replaced-{stamp}.db")
    readable = not isinstance(live_facts(live), str)
    if readable:
        fold_wal(live)
    for suffix in SIDECARS:  # a damaged or missing database's WAL is kept for the record
        stale = Path(f"{live}{suffix}")
        if stale.exists():
            stale.replace(Path(f"{kept}{suffix}")) if suffix == "-wal" else stale.unlink()
    if live.exists():
        os.link(live, kept)
    side.replace(live)  # the atomic step: the live path names the old file, then the copy
    # Litestream's own state describes the replaced database; it starts afresh from the replica.
    shutil.rmtree(live.with_name(f".{live.name}-litestream"), ignore_errors=True)
    replaced = kept if kept.exists() else None
    echo(f"   swapped in; the replaced database is kept as {replaced or '(there was none)'}")
    return replaced


def migrate_copy(live: Path, copy: Facts, *, snapshot_dir: Path, echo: Echo) -> None:
    """Bring an older copy's schema up to this version's."""
    if copy.schema < latest_version():
        applied = migrate(live, snapshot_dir=snapshot_dir)
        echo(f"   migrated the copy from schema {copy.schema}: {', '.join(applied)}")


def restore_files(tree: Path, data_dir: Path, *, echo: Echo) -> dict[str, int]:
    """Copy back the transcripts and outputs in a restic tree that are missing on disk."""
    counts = {"copied": 0, "present": 0, "differ": 0}
    for folder in ("transcripts", "outputs"):
        source = tree / data_dir.relative_to(data_dir.anchor) / folder
        for path in sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else []:
            dest = data_dir / folder / path.relative_to(source)
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest)
                counts["copied"] += 1
            else:
                same = dest.read_bytes() == path.read_bytes()
                counts["present" if same else "differ"] += 1
    echo(f"   files from restic: {counts['copied']} copied back, {counts['present']} already "
         f"there, {counts['differ']} differ on disk (the disk's kept)")  # fmt: skip
    return counts


def record_restore(
    live: Path, *, source: Source, now: datetime, details: dict[str, Any], **fields: object
) -> int:
    """Record the restore as a ``backup_runs`` row in the restored database; its id."""
    with closing(connect(live)) as conn:
        run_id = start_run(conn, kind="restore", trigger="manual", now=now)
        details = {"source": source.kind, "ref": source.ref, **details}
        with transaction(conn):
            finish_run(conn, run_id=run_id, result="ok", now=now, details=details, **fields)
            record(conn, who=operator(), action=Action.DATABASE_RESTORED, now=now,
                   resource_type="database", resource_id=str(run_id),
                   details={"source": source.kind, "ref": source.ref})  # fmt: skip
    return run_id


def record_failure(live: Path, *, source: Source, now: datetime, error: AppError) -> None:
    """Note a refused or failed restore in the live database, when it can take it."""
    facts = live_facts(live)
    if isinstance(facts, str) or facts.schema != latest_version():
        return
    with suppress(sqlite3.Error), closing(connect(live)) as conn:
        run_id = start_run(conn, kind="restore", trigger="manual", now=now)
        details = {"source": source.kind, "ref": source.ref, "code": error.code}
        finish_run(conn, run_id=run_id, result="failed", now=now, details=details,
                   error=error.message)  # fmt: skip
