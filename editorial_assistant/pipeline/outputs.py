"""Phase outputs on disk: versioned Markdown files, a manifest, and their index in the database.

Files live in ``<data_dir>/outputs/<media_id>/<job_id>/``. The latest version of each output has
its plain name (``seo.md``); earlier versions are kept in ``versions/seo.v1.md`` and so on. An
output is committed in the same transaction that marks its phase completed, and only while the
writing run still owns the job, so a cancelled job never gains another output.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from editorial_assistant.db import timestamp
from editorial_assistant.errors import AppError, NotFound
from editorial_assistant.pipeline.phases import OUTPUT_NAMES


def job_output_dir(data_dir: Path, media_id: str, job_id: int) -> Path:
    """The folder holding one job's outputs."""
    return data_dir / "outputs" / media_id / str(job_id)


def stage_output(folder: Path, name: str, text: str) -> Path:
    """Write ``text`` to a temporary file beside its final place, flushed to disk."""
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{name}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    return temporary


def commit_output(
    conn: sqlite3.Connection,
    *,
    data_dir: Path,
    job_id: int,
    phase: str,
    name: str,
    staged: Path,
    model: str,
    now: datetime,
) -> int:
    """Publish a staged file as the newest version (inside the caller's transaction)."""
    folder = staged.parent
    final = folder / name
    previous = conn.execute(
        "SELECT id, version FROM outputs WHERE job_id = ? AND name = ? "
        "ORDER BY version DESC LIMIT 1",
        (job_id, name),
    ).fetchone()
    version = 1
    if previous is not None:
        version = previous["version"] + 1
        kept = _keep_previous(final, name, previous["version"])
        conn.execute(
            "UPDATE outputs SET path = ? WHERE id = ?",
            (str(kept.relative_to(data_dir)), previous["id"]),
        )
    data = staged.read_bytes()
    os.replace(staged, final)
    conn.execute(
        "INSERT INTO outputs (job_id, phase, name, version, path, sha256, size_bytes, model, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            job_id,
            phase,
            name,
            version,
            str(final.relative_to(data_dir)),
            hashlib.sha256(data).hexdigest(),
            len(data),
            model,
            timestamp(now),
        ),
    )
    _write_manifest(conn, folder, job_id)
    return version


def read_output(
    conn: sqlite3.Connection, *, data_dir: Path, job_id: int, name: str, version: int | None = None
) -> tuple[str, dict[str, Any]]:
    """The text of an output (latest unless ``version``) and its index row."""
    if name not in OUTPUT_NAMES:
        raise NotFound(
            f"There is no output called {name!r}.", hint=f"Outputs are: {', '.join(OUTPUT_NAMES)}."
        )
    query = "SELECT * FROM outputs WHERE job_id = ? AND name = ?"
    params: tuple[Any, ...] = (job_id, name)
    if version is not None:
        query, params = query + " AND version = ?", (*params, version)
    row = conn.execute(query + " ORDER BY version DESC LIMIT 1", params).fetchone()
    if row is None:
        raise NotFound(
            f"Job {job_id} has no {name} yet.", hint="Outputs appear as each phase completes."
        )
    path = data_dir / row["path"]
    try:
        return path.read_text(encoding="utf-8"), dict(row)
    except FileNotFoundError:
        raise _gone(path, row["path"]) from None


ARCHIVE_RECORD = "archived.json"


def _gone(path: Path, relative: str) -> AppError:
    """Why an output's file is not on the disk: archived by the backup run, or lost."""
    try:
        history = json.loads((path.parent / ARCHIVE_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        history = []
    for entry in history if isinstance(history, list) else []:
        files = [str(f.get("path", "")) for f in entry.get("files", []) if isinstance(f, dict)]
        if any(relative.endswith(name) or name.endswith(path.name) for name in files):
            return AppError(
                f"This output was archived on {str(entry.get('archived_at', '?'))[:10]} "
                f"(restic snapshot {entry.get('restic_snapshot_id', '?')}) and is no longer on "
                "the live disk.",
                code="output_archived",
                status=410,
                hint="IT can bring it back: see 'Getting archived drafts back' in the backups "
                "guide.",
            )
    return AppError(
        "This output's file is missing from the disk.",
        code="output_missing",
        status=410,
        hint="Restore it from the latest backup (docs/guides/restore.md) or retry the phase.",
    )


def _keep_previous(final: Path, name: str, version: int) -> Path:
    stem, _, suffix = name.rpartition(".")
    kept = final.parent / "versions" / f"{stem}.v{version}.{suffix}"
    kept.parent.mkdir(exist_ok=True)
    if final.exists() and not kept.exists():
        os.link(final, kept)
    return kept


def _write_manifest(conn: sqlite3.Connection, folder: Path, job_id: int) -> None:
    rows = conn.execute(
        "SELECT phase, name, version, path, sha256, size_bytes, model, "
        "created_at FROM outputs WHERE job_id = ? ORDER BY name, version",
        (job_id,),
    ).fetchall()
    manifest = {"job_id": job_id, "outputs": [dict(row) for row in rows]}
    temporary = folder / ".manifest.json.tmp"
    temporary.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, folder / "manifest.json")
