"""What ``GET /api/backups`` returns: the backup summary and the latest runs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class BackupRunOut(BaseModel):
    """One backup, restore drill or restore, as ``backup_runs`` records it."""

    id: int
    kind: str
    trigger: str
    started_at: str
    finished_at: str | None
    result: str
    snapshot_file: str | None
    snapshot_bytes: int | None
    restic_snapshot_id: str | None
    bytes_added: int | None
    details: dict[str, Any]
    error: str | None


class BackupStatusOut(BaseModel):
    """Whether backups are healthy, and why not (``problems``)."""

    healthy: bool
    problems: list[str]
    running: bool
    last_run: BackupRunOut | None
    last_good: BackupRunOut | None
    last_good_age_hours: float | None
    max_age_hours: float
    restic_repository: str | None


class BackupsOut(BaseModel):
    status: BackupStatusOut
    runs: list[BackupRunOut]
