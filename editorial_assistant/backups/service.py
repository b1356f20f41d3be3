"""The daily backup run: snapshot, restic archive, check, archival of old outputs, retention.

``run_backup`` records a ``backup_runs`` row, takes the daily snapshot, then (with a restic
repository) backs up the snapshots folder, the transcripts (kept for ever) and the outputs,
reads a rotating 1/N of the repository back (``check``), moves outputs older than
``outputs_archive_after_days`` off the live disk, and applies the retention policy (``forget
--prune``, only after a clean check). An output leaves the disk only once a snapshot tagged
``archive`` (kept for ever) holds it and restic has given it back byte for byte; the job's
folder keeps ``archived.json`` saying where it went. A failure ends the run ``failed`` with
restic's words and a hint; unreadable files or a repository whose ID changed end it
``warning``. Each result goes to the journal with a stable ``MESSAGE_ID`` for monitoring.
Backups change no user data, so they are not audited; archival is listed in the run's details.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from editorial_assistant.backups.health import alert_on_backups
from editorial_assistant.backups.lock import exclusive
from editorial_assistant.backups.records import (
    Kind,
    Result,
    finish_run,
    last_good,
    list_runs,
    start_run,
)
from editorial_assistant.backups.restic import Restic, open_repository
from editorial_assistant.backups.snapshot import (
    prune_dailies,
    sha256,
    take_daily_snapshot,
    write_json,
)
from editorial_assistant.config import Settings
from editorial_assistant.db import timestamp
from editorial_assistant.errors import AppError
from editorial_assistant.pipeline.outputs import job_output_dir

log = logging.getLogger(__name__)
# journald MESSAGE_IDs (128-bit, stable): `journalctl MESSAGE_ID=<id>` finds every such run.
MESSAGE_IDS = {
    "ok": "5d6c1f0e8a4b4c2f9e3a7b1d2c4e6f80",
    "warning": "a3f1c9e27b5d4e8c8f6a2b4d9c1e3f57",
    "failed": "e0b7d4c2a9f14b3c8d5e6f7a1b2c3d49",
}
LEVELS = {"ok": logging.INFO, "warning": logging.WARNING, "failed": logging.ERROR}
SUMMARY_KEYS = ("files_new", "files_changed", "files_unmodified", "total_bytes_processed")
TAG, ARCHIVE_TAG, ARCHIVE_RECORD = "editorial-assistant", "archive", "archived.json"
FINISHED = ("completed", "failed", "cancelled")


@dataclass
class BackupRun:
    """One run under way: what it has made so far (kept when a later step fails)."""

    settings: Settings
    conn: sqlite3.Connection
    now: datetime
    binary: str = "restic"
    fields: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=lambda: {"seconds": {}})
    warnings: list[str] = field(default_factory=list)
    ended: datetime | None = None

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time one step into ``details["seconds"]``."""
        began = time.monotonic()
        try:
            yield
        finally:
            self.details["seconds"][name] = round(time.monotonic() - began, 3)

    def perform(self) -> None:
        """Snapshot, then (with a repository) back up, check, archive and prune."""
        folder = self.settings.snapshot_dir
        with self.step("snapshot"):
            daily = take_daily_snapshot(self.conn, folder=folder, now=self.now)
        self.fields.update(
            snapshot_file=daily.path.name, snapshot_bytes=daily.manifest["size_bytes"]
        )
        keep = self.settings.backup.snapshot_keep_days
        self.details["pruned"] = prune_dailies(folder, keep_days=keep, now=self.now)
        if not self.settings.backup.restic_repository:
            self.details["restic"] = "not configured: only the local daily snapshot was made"
            return
        tags = snapshot_tags(daily.manifest)
        with open_repository(self.settings, binary=self.binary) as restic:
            self.to_restic(restic, tags)
            self.retain(restic, tags)

    def to_restic(self, restic: Restic, tags: list[str]) -> None:
        """Back up the snapshots, transcripts and outputs; read today's share back."""
        with self.step("restic_open"):
            self.details["restic_version"] = restic.version()
            self.note_repository(restic.repository_id())
        with self.step("restic_backup"):
            made = restic.backup(
                backup_sources(self.settings), tags=[*tags, "daily"], host=_host(tags)
            )
        self.fields.update(restic_snapshot_id=made.snapshot_id, bytes_added=made.data_added)
        self.details["restic_summary"] = {key: made.summary.get(key) for key in SUMMARY_KEYS}
        if made.unreadable:
            shown = ", ".join(made.unreadable[:5])
            self.warnings.append(f"restic could not read {len(made.unreadable)} file(s): {shown}")
        subset = check_subset(self.now, self.settings.backup.check_rotation_days)
        self.details["check_subset"] = subset
        with self.step("restic_check"):
            restic.check(subset)

    def retain(self, restic: Restic, tags: list[str]) -> None:
        """Archive old outputs, then forget and prune by the retention policy."""
        policy = self.settings.backup
        if policy.outputs_archive_after_days:
            cutoff = self.now - timedelta(days=policy.outputs_archive_after_days)
            with self.step("archive_outputs"):
                found = archivable_jobs(self.conn, data_dir=self.settings.data_dir, cutoff=cutoff)
                archived = archive_outputs(
                    self.conn, restic, found, cutoff=cutoff, tags=tags, now=self.now
                )
            self.warnings += archived.pop("problems")
            self.details["archived"] = archived
        with self.step("restic_forget"):
            restic.forget(policy, tag=TAG, keep_tag=ARCHIVE_TAG)

    def note_repository(self, repository_id: str) -> None:
        """Warn when the repository is not the one the last good backup went to."""
        self.details["repository_id"] = repository_id
        good = last_good(self.conn, kind="backup") or {}
        before = (good.get("details") or {}).get("repository_id")
        if before and before != repository_id:
            self.warnings.append(
                f"the restic repository changed since the last good backup (ID {before[:8]}, "
                f"now {repository_id[:8]}): if nobody re-created it on purpose, the real "
                "repository is not mounted or backup.restic_repository points elsewhere"
            )

    def finish(self, run_id: int, result: Result, error: str | None, began: float) -> None:
        """Record the end of the run, and log it with its MESSAGE_ID."""
        ended = self.ended = self.now + timedelta(seconds=time.monotonic() - began)
        finish_run(
            self.conn,
            run_id=run_id,
            result=result,
            now=ended,
            details=self.details,
            error=error,
            **self.fields,
        )
        said = f"backup run {run_id} {result}" + (f": {error}" if error else "")
        log.log(LEVELS[result], said, extra={"message_id": MESSAGE_IDS[result]})


def run_backup(
    settings: Settings,
    conn: sqlite3.Connection,
    *,
    trigger: str,
    now: datetime,
    binary: str = "restic",
) -> dict[str, Any]:
    """Run one backup and return its ``backup_runs`` row (result ``ok``/``warning``/``failed``)."""
    with exclusive(settings.data_dir):
        close_abandoned_runs(conn, now=now)
        run_id = start_run(conn, kind="backup", trigger=trigger, now=now)
        began, run = time.monotonic(), BackupRun(settings, conn, now, binary)
        result: Result = "failed"
        error: str | None = "interrupted"
        try:
            run.perform()
            result, error = ("warning", "; ".join(run.warnings)) if run.warnings else ("ok", None)
        except AppError as exc:
            error = exc.message
            run.details.update(code=exc.code, hint=exc.hint)
        except Exception as exc:  # a full disk, a damaged database: recorded, never silent
            log.exception("backup run %d: unexpected error", run_id)
            error = f"{type(exc).__name__}: {exc}"
        finally:  # also when interrupted (SIGTERM, Ctrl-C), which then carries on up
            run.finish(run_id, result, error, began)
    alert_on_backups(conn, settings=settings, now=run.ended or now)
    return next(run for run in list_runs(conn, kind="backup", limit=5) if run["id"] == run_id)


def snapshot_tags(manifest: dict[str, Any]) -> list[str]:
    """The tags every restic snapshot of ours carries."""
    app, schema, host = manifest["app_version"], manifest["schema_version"], manifest["host"]
    return [TAG, f"app-version={app}", f"schema={schema}", f"host={host}"]


def _host(tags: list[str]) -> str:
    return next(tag for tag in tags if tag.startswith("host=")).removeprefix("host=")


def backup_sources(settings: Settings) -> list[Path]:
    """What goes to restic: the snapshots folder, the original transcripts and the outputs."""
    data = settings.data_dir
    return [
        p for p in (settings.snapshot_dir, data / "transcripts", data / "outputs") if p.is_dir()
    ]


def check_subset(now: datetime, days: int) -> str:
    """Today's share of ``restic check --read-data-subset``: all the data every ``days`` days."""
    return f"{now.toordinal() % days + 1}/{days}"


def close_abandoned_runs(conn: sqlite3.Connection, *, now: datetime, kind: Kind = "backup") -> None:
    """Runs still ``running`` while we hold the lock died half-way: record that."""
    for run in list_runs(conn, kind=kind, limit=20):
        if run["result"] == "running":
            error = "never finished: the process stopped (power cut, kill, out of memory?)"
            finish_run(conn, run_id=run["id"], result="failed", now=now, error=error)


def archive_outputs(
    conn: sqlite3.Connection,
    restic: Restic,
    jobs: list[JobFiles],
    *,
    cutoff: datetime,
    tags: list[str],
    now: datetime,
) -> dict[str, Any]:
    """Move ``jobs``' outputs into a restic snapshot tagged ``archive``, proven before removal."""
    if not jobs:
        return {"jobs": [], "files": 0, "bytes": 0, "problems": []}
    made = restic.backup([job.folder for job in jobs], tags=[*tags, ARCHIVE_TAG], host=_host(tags))
    if made.unreadable:
        problem = f"no outputs archived: restic could not read {made.unreadable[0]}"
        return {"jobs": [], "files": 0, "bytes": 0, "problems": [problem]}
    with tempfile.TemporaryDirectory(prefix="ea-archive-check-") as scratch:
        restic.restore(made.snapshot_id, Path(scratch))
        proven = [job for job in jobs if job.came_back(Path(scratch))]
    moved = [job for job in proven if _still_untouched(conn, job.job_id, cutoff)]
    summary = {"jobs": [job.job_id for job in moved], "files": sum(len(j.files) for j in moved)}
    summary.update(bytes=sum(job.size for job in moved), snapshot_id=made.snapshot_id)
    for job in moved:
        job.remove({"archived_at": timestamp(now), "restic_snapshot_id": made.snapshot_id})
    kept = sorted({job.job_id for job in jobs} - {job.job_id for job in proven})
    summary["problems"] = (
        [f"outputs of jobs {kept} did not come back intact: kept on disk"] if kept else []
    )
    return summary


@dataclass(frozen=True)
class JobFiles:
    """One job's output files on disk and their SHA-256, before they are archived."""

    job_id: int
    folder: Path
    files: dict[Path, str]

    @property
    def size(self) -> int:
        """Their total size in bytes."""
        return sum(path.stat().st_size for path in self.files if path.exists())

    def came_back(self, scratch: Path) -> bool:
        """Whether restic restored every file under ``scratch`` with the same bytes."""
        back = {path: scratch / path.relative_to(path.anchor) for path in self.files}
        return all(back[p].is_file() and sha256(back[p]) == d for p, d in self.files.items())

    def remove(self, entry: dict[str, Any]) -> None:
        """Note where the files went in ``archived.json``, then delete them."""
        listed = [
            {
                "path": str(path.relative_to(self.folder)),
                "sha256": digest,
                "size_bytes": path.stat().st_size,
            }
            for path, digest in self.files.items()
        ]
        write_json(self.folder / ARCHIVE_RECORD, [*self.history(), {**entry, "files": listed}])
        for path in self.files:
            path.unlink(missing_ok=True)
        for folder in {path.parent for path in self.files} - {self.folder}:
            if not any(folder.iterdir()):
                folder.rmdir()

    def history(self) -> list[dict[str, Any]]:
        """Earlier archivals of this job (a job retried after one is archived again later)."""
        record = self.folder / ARCHIVE_RECORD
        return list(json.loads(record.read_text(encoding="utf-8"))) if record.exists() else []


def archivable_jobs(
    conn: sqlite3.Connection, *, data_dir: Path, cutoff: datetime
) -> list[JobFiles]:
    """Finished jobs whose newest output is older than ``cutoff`` and still on disk."""
    rows = conn.execute(
        "SELECT jobs.id, jobs.media_id FROM jobs JOIN outputs ON outputs.job_id = jobs.id "
        f"WHERE jobs.status IN {FINISHED} GROUP BY jobs.id "
        "HAVING max(outputs.created_at) < ? ORDER BY jobs.id",
        (timestamp(cutoff),),
    ).fetchall()
    found = []
    for job_id, media_id in rows:
        folder = job_output_dir(data_dir, media_id, job_id)
        files = sorted(p for p in folder.rglob("*") if p.is_file() and _archivable(p.name))
        if files:
            found.append(JobFiles(job_id, folder, {path: sha256(path) for path in files}))
    return found


def _archivable(name: str) -> bool:
    return name not in ("manifest.json", ARCHIVE_RECORD) and not name.startswith(".")


def _still_untouched(conn: sqlite3.Connection, job_id: int, cutoff: datetime) -> bool:
    """Nobody retried the job while it was being archived."""
    newest, status = conn.execute(
        "SELECT max(outputs.created_at), jobs.status FROM jobs JOIN outputs "
        "ON outputs.job_id = jobs.id WHERE jobs.id = ?",
        (job_id,),
    ).fetchone()
    return status in FINISHED and newest < timestamp(cutoff)


def archived_outputs(data_dir: Path, *, media_id: str, job_id: int) -> list[dict[str, Any]]:
    """Where a job's archived outputs went: ``archived.json`` (``[]`` when none were)."""
    folder = job_output_dir(data_dir, media_id, job_id)
    return JobFiles(job_id, folder, {}).history()
