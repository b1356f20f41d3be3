"""Intake: accept a caption file, keep its original bytes, and create the job that processes it.

The file is parsed before anything is written, so a rejected file leaves no trace. An accepted
file is stored byte for byte under ``<data_dir>/transcripts/<media_id>/<id>.txt`` (names built
only from sanitised parts, never from the client's path) and its row, job and phases are
committed in one transaction; if that fails the file is removed again.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any

from editorial_assistant.audit.events import Action
from editorial_assistant.audit.service import Who, record
from editorial_assistant.auth.grants import claim_project
from editorial_assistant.db import timestamp, transaction
from editorial_assistant.errors import Conflict, InvalidInput, NotFound
from editorial_assistant.jobs.events import record_event
from editorial_assistant.pipeline.phases import PHASES
from editorial_assistant.transcripts.media_id import media_id_from_filename
from editorial_assistant.transcripts.models import ParsedTranscript
from editorial_assistant.transcripts.parsing import parse_transcript

MAX_FILENAME_CHARS = 255
PRIORITY_RANGE = range(-100, 101)


def submit_transcript(
    conn: sqlite3.Connection,
    *,
    data_dir: Path,
    filename: str,
    data: bytes,
    max_bytes: int,
    now: datetime,
    priority: int = 0,
    force: bool = False,
    want_timestamps: bool = False,
    who: Who | None = None,
    owner_id: int | None = None,
) -> dict[str, Any]:
    """Validate, store and queue one caption file; return its transcript and job rows.

    The audit entry (``who``) and the submitter's ownership of a new Media ID (``owner_id``)
    are written in the same transaction as the rows.
    """
    filename = _clean_filename(filename)
    if priority not in PRIORITY_RANGE:
        raise InvalidInput(
            f"Priority {priority} is out of range.",
            hint="Use a whole number from -100 to 100 (higher runs first).",
        )
    parsed = parse_transcript(data, max_bytes=max_bytes)
    media_id = media_id_from_filename(filename)
    with transaction(conn):
        if not force:
            _refuse_duplicate(conn, media_id)
        transcript_id = _insert_transcript(conn, media_id, filename, data, parsed, now)
        stored = _store_original(data_dir, media_id, transcript_id, data)
        try:
            conn.execute(
                "UPDATE transcripts SET stored_path = ? WHERE id = ?",
                (str(stored.relative_to(data_dir)), transcript_id),
            )
            job_id = _insert_job(conn, transcript_id, media_id, priority, want_timestamps, now)
            if owner_id is not None:
                claim_project(conn, user_id=owner_id, media_id=media_id, now=now)
            if who is not None:
                record(
                    conn,
                    who=who,
                    action=Action.TRANSCRIPT_SUBMITTED,
                    now=now,
                    resource_type="job",
                    resource_id=job_id,
                    details={"media_id": media_id, "file": filename, "force": force},
                )
        except BaseException:
            stored.unlink(missing_ok=True)
            raise
    return {
        "transcript": transcript_row(conn, transcript_id=transcript_id),
        "job": {"id": job_id, "status": "queued", "priority": priority, "media_id": media_id},
    }


def transcript_row(conn: sqlite3.Connection, *, transcript_id: int) -> dict[str, Any]:
    """A transcript as the API shows it."""
    row = conn.execute(
        "SELECT id, media_id, original_filename AS filename, format, encoding, "
        "word_count, duration_seconds, duration_estimated, size_bytes, sha256, "
        "created_at FROM transcripts WHERE id = ?",
        (transcript_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"There is no transcript {transcript_id}.")
    return {**dict(row), "duration_estimated": bool(row["duration_estimated"])}


def load_parsed(
    conn: sqlite3.Connection, *, data_dir: Path, transcript_id: int
) -> ParsedTranscript:
    """Parse a stored transcript again from its original bytes (parsing is deterministic)."""
    row = conn.execute(
        "SELECT stored_path, size_bytes FROM transcripts WHERE id = ?", (transcript_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"There is no transcript {transcript_id}.")
    data = (data_dir / row["stored_path"]).read_bytes()
    return parse_transcript(data, max_bytes=max(len(data), 1))


def _clean_filename(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or name in (".", ".."):
        raise InvalidInput(
            "The upload has no file name.",
            hint="Send the caption file with its name, e.g. 2WLI1209HD.srt.",
        )
    # Format characters (U+202E right-to-left override, …) make a name display as another one.
    hidden = any(ord(c) < 32 or ord(c) == 127 or unicodedata.category(c) == "Cf" for c in name)
    if len(name) > MAX_FILENAME_CHARS or hidden:
        raise InvalidInput(
            "The file name is too long or contains control or invisible formatting characters.",
            hint=f"Use a plain name of at most {MAX_FILENAME_CHARS} characters.",
        )
    return name


def _refuse_duplicate(conn: sqlite3.Connection, media_id: str) -> None:
    existing = conn.execute(
        "SELECT id, status FROM jobs WHERE media_id = ? ORDER BY id DESC LIMIT 1", (media_id,)
    ).fetchone()
    if existing is not None:
        raise Conflict(
            f"{media_id} already has job {existing['id']} ({existing['status']}).",
            code="duplicate_media_id",
            hint=f"See /api/jobs/{existing['id']}, or submit again with force=true to process "
            "the file anyway.",
            details={"existing_job_id": existing["id"]},
        )


def _insert_transcript(
    conn: sqlite3.Connection,
    media_id: str,
    filename: str,
    data: bytes,
    parsed: ParsedTranscript,
    now: datetime,
) -> int:
    cursor = conn.execute(
        "INSERT INTO transcripts (media_id, original_filename, stored_path, sha256, size_bytes, "
        "format, encoding, word_count, duration_seconds, duration_estimated, created_at) "
        "VALUES (?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            media_id,
            filename,
            hashlib.sha256(data).hexdigest(),
            len(data),
            parsed.format,
            parsed.encoding,
            parsed.word_count,
            round(parsed.duration_seconds, 3),
            int(parsed.duration_estimated),
            timestamp(now),
        ),
    )
    return int(cursor.lastrowid or 0)


def _store_original(data_dir: Path, media_id: str, transcript_id: int, data: bytes) -> Path:
    folder = data_dir / "transcripts" / media_id
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{transcript_id}.txt"
    temporary = folder / f".{transcript_id}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, final)
    return final


def _insert_job(
    conn: sqlite3.Connection,
    transcript_id: int,
    media_id: str,
    priority: int,
    want_timestamps: bool,
    now: datetime,
) -> int:
    at = timestamp(now)
    cursor = conn.execute(
        "INSERT INTO jobs (transcript_id, media_id, status, priority, want_timestamps, "
        "created_at, queued_at, updated_at) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)",
        (transcript_id, media_id, priority, int(want_timestamps), at, at, at),
    )
    job_id = int(cursor.lastrowid or 0)
    conn.executemany(
        "INSERT INTO phases (job_id, name, position, status) VALUES (?, ?, ?, 'pending')",
        [(job_id, p.name, i) for i, p in enumerate(PHASES)],
    )
    record_event(
        conn, job_id=job_id, kind="queued", now=now, message=f"Queued at priority {priority}."
    )
    return job_id
