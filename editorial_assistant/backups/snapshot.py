"""The daily database snapshot: SQLite's backup API, integrity-checked, gzip-compressed, described.

``snapshots/daily-YYYYMMDDTHHMMSSZ.db.gz`` is a consistent copy of the app database taken while
it is in use (``db.snapshot_database``: the backup API, then ``PRAGMA integrity_check``),
compressed with gzip from the standard library (zstd only arrives with Python 3.14, and the
package runs on 3.10 to 3.12). Beside it ``daily-….json``, its manifest: app and schema version,
host, the file's sha256 and size, row counts of the main tables and the newest job's times, so a
restore or a drill can tell what it holds without opening it. Both files appear by rename only;
temporaries end in ``.partial`` (restic skips them). Dailies older than ``snapshot_keep_days``
are pruned, never the newest.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import editorial_assistant
from editorial_assistant.db import schema_version, snapshot_database, timestamp
from editorial_assistant.errors import NotReady

DAILY = re.compile(r"^daily-(\d{8}T\d{6}Z)\.db\.gz$")
STAMP = "%Y%m%dT%H%M%SZ"
MAIN_TABLES: tuple[str, ...] = (
    "transcripts",
    "jobs",
    "phases",
    "outputs",
    "llm_calls",
    "job_events",
)
MAIN_TABLES += ("users", "api_keys", "audit_log", "backup_runs")
CHUNK = 1 << 20


@dataclass(frozen=True)
class Daily:
    """One daily snapshot: the compressed database and its manifest."""

    path: Path
    manifest: dict[str, Any]


def take_daily_snapshot(conn: sqlite3.Connection, *, folder: Path, now: datetime) -> Daily:
    """Snapshot the open database into ``folder``, compressed, with its manifest."""
    _remove_partials(folder)  # from a run that died (runs never overlap)
    final = folder / f"daily-{now.astimezone(timezone.utc).strftime(STAMP)}.db.gz"
    packed = final.with_name(final.name + ".partial")
    try:
        copy = snapshot_database(conn, final.with_name(final.name.removesuffix(".gz") + ".partial"))
        manifest = describe(copy, now=now)
        compress(copy, packed)
        manifest.update(file=final.name, size_bytes=packed.stat().st_size, sha256=sha256(packed))
        packed.replace(final)
    except sqlite3.DatabaseError as exc:  # integrity_check itself gives up on some damage
        raise NotReady(
            f"The database could not be snapshotted: {exc}",
            code="snapshot_failed",
            hint="The live database may be damaged: see docs/guides/backups.md, 'Failures'.",
        ) from exc
    finally:
        _remove_partials(folder)
    write_json(manifest_path(final), manifest)
    return Daily(final, manifest)


def _remove_partials(folder: Path) -> None:
    for partial in folder.glob("*.partial"):
        partial.unlink(missing_ok=True)


def describe(database: Path, *, now: datetime) -> dict[str, Any]:
    """The manifest of a snapshot copy (all but the compressed file's size and hash). The copy
    leaves WAL mode first, so it is one self-contained file (the app turns WAL on again)."""
    conn = sqlite3.connect(database)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in MAIN_TABLES
            if table in tables
        }
        created, updated = conn.execute(
            "SELECT max(created_at), max(updated_at) FROM jobs"
        ).fetchone()
        version = schema_version(conn)
    finally:
        conn.close()
    return {
        "created_at": timestamp(now),
        "app_version": editorial_assistant.__version__,
        "schema_version": version,
        "host": socket.gethostname(),
        "compression": "gzip",
        "integrity_check": "ok",
        "database_bytes": database.stat().st_size,
        "row_counts": counts,
        "newest_job_created_at": created,
        "newest_job_updated_at": updated,
    }


def compress(source: Path, dest: Path) -> None:
    """gzip ``source`` into ``dest``, flushed to disk (no name or time in the gzip header)."""
    with open(source, "rb") as data, open(dest, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as out:
            shutil.copyfileobj(data, out, CHUNK)
        raw.flush()
        os.fsync(raw.fileno())


def unpack_daily(archive: Path, dest: Path) -> dict[str, Any]:
    """Check a daily against its manifest, decompress it to ``dest`` (checked, by rename) and
    return the manifest: what a restore from a daily snapshot starts with."""
    manifest = json.loads(manifest_path(archive).read_text(encoding="utf-8"))
    if sha256(archive) != manifest["sha256"]:
        raise NotReady(
            f"{archive.name} does not match its manifest's sha256: the file is damaged.",
            code="snapshot_damaged",
            hint="Use an older daily snapshot, or the copy in the restic repository.",
        )
    partial = dest.with_name(dest.name + ".partial")
    with gzip.open(archive, "rb") as data, open(partial, "wb") as out:
        shutil.copyfileobj(data, out, CHUNK)
    with closing(sqlite3.connect(partial)) as check:
        verdict = check.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        partial.unlink()
        raise NotReady(
            f"{archive.name} fails the integrity check: {verdict}", code="snapshot_damaged"
        )
    partial.replace(dest)
    return dict(manifest)


def list_dailies(folder: Path) -> list[tuple[datetime, Path]]:
    """Every daily snapshot in ``folder``, oldest first, with the time in its name."""
    found = []
    for path in folder.glob("daily-*.db.gz"):
        match = DAILY.match(path.name)
        if match:
            when = datetime.strptime(match.group(1), STAMP).replace(tzinfo=timezone.utc)
            found.append((when, path))
    return sorted(found)


def prune_dailies(folder: Path, *, keep_days: int, now: datetime) -> list[str]:
    """Remove the dailies older than ``keep_days`` (never the newest); the names removed."""
    cutoff = now - timedelta(days=keep_days)
    removed = []
    for when, path in list_dailies(folder)[:-1]:
        if when < cutoff:
            path.unlink(missing_ok=True)
            manifest_path(path).unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def manifest_path(archive: Path) -> Path:
    """``daily-….json`` for ``daily-….db.gz``."""
    return archive.with_name(archive.name.removesuffix(".db.gz") + ".json")


def sha256(path: Path) -> str:
    """The file's SHA-256, hexadecimal."""
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: Path, value: object) -> None:
    """Write JSON beside ``path`` and rename it into place."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    partial.replace(path)
