"""``editorial-assistant submit``: queue files from the command line through the same intake."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from editorial_assistant.audit.service import Who
from editorial_assistant.config import Settings
from editorial_assistant.db import Database, check_schema, utcnow
from editorial_assistant.errors import AppError
from editorial_assistant.jobs.tasks import JobQueue, make_huey
from editorial_assistant.transcripts.service import submit_transcript


def submit_files(
    settings: Settings,
    files: tuple[Path, ...],
    *,
    priority: int,
    force: bool,
    timestamps: bool,
    as_json: bool,
    who: Who,
    echo: Callable[..., None],
) -> int:
    """Submit each file, print one line (or JSON object) per file; return how many were refused."""
    conn = Database(settings.database_path).conn()
    check_schema(conn)
    queue = JobQueue(make_huey(settings))
    refused = 0
    for path in files:
        try:
            result = _submit_one(settings, conn, queue, path, priority, force, timestamps, who)
        except AppError as exc:
            refused += 1
            _print_refusal(path, exc, as_json, echo)
            continue
        _print_acceptance(path, result, as_json, echo)
    return refused


def _submit_one(
    settings: Settings,
    conn: sqlite3.Connection,
    queue: JobQueue,
    path: Path,
    priority: int,
    force: bool,
    timestamps: bool,
    who: Who,
) -> dict[str, Any]:
    with open(path, "rb") as handle:
        data = handle.read(settings.intake.max_upload_bytes + 1)
    result = submit_transcript(
        conn,
        data_dir=settings.data_dir,
        filename=path.name,
        data=data,
        max_bytes=settings.intake.max_upload_bytes,
        now=utcnow(),
        priority=priority,
        force=force,
        want_timestamps=timestamps,
        who=who,
    )
    queue.enqueue(result["job"]["id"], priority)
    return result


def _print_acceptance(
    path: Path, result: dict[str, Any], as_json: bool, echo: Callable[..., None]
) -> None:
    if as_json:
        echo(json.dumps({"file": str(path), "accepted": True, **result}))
        return
    transcript, job = result["transcript"], result["job"]
    echo(
        f"{path.name}: queued job {job['id']} for {transcript['media_id']} "
        f"({transcript['format']}, {transcript['word_count']} words, "
        f"{transcript['duration_seconds'] / 60:.1f} min)"
    )


def _print_refusal(path: Path, exc: AppError, as_json: bool, echo: Callable[..., None]) -> None:
    if as_json:
        echo(json.dumps({"file": str(path), "accepted": False, **exc.as_dict()}))
        return
    echo(f"{path.name}: refused: {exc.message}", err=True)
    if exc.hint:
        echo(f"  hint: {exc.hint}", err=True)
