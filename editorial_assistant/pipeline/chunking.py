"""Splitting a long transcript into formatter-sized chunks, and keeping finished chunks.

Chunks are cut at speaker or sentence boundaries; each finished chunk is saved so a job that
pauses or loses its worker mid-formatter resumes where it stopped.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from editorial_assistant.db import timestamp
from editorial_assistant.transcripts.models import Cue

SENTENCE_ENDS = (".", "?", "!", '."', '?"', '!"', "…")


def chunk_cues(cues: tuple[Cue, ...], *, target_words: int) -> list[tuple[Cue, ...]]:
    """Group cues into chunks of about ``target_words``, cut at a turn or sentence end."""
    chunks: list[tuple[Cue, ...]] = []
    current: list[Cue] = []
    words = 0
    for index, cue in enumerate(cues):
        current.append(cue)
        words += cue.word_count
        following = cues[index + 1] if index + 1 < len(cues) else None
        if following is not None and _should_cut(words, target_words, cue, following):
            chunks.append(tuple(current))
            current, words = [], 0
    if current:
        chunks.append(tuple(current))
    return chunks


def _should_cut(words: int, target: int, cue: Cue, following: Cue) -> bool:
    if words < target:
        return False
    if following.new_turn or cue.text.rstrip().endswith(SENTENCE_ENDS):
        return True
    return words >= target * 1.5


def saved_chunks(conn: sqlite3.Connection, *, job_id: int, count: int) -> dict[int, str]:
    """Formatter chunks already done for this job, if the chunking has not changed since."""
    rows = conn.execute(
        "SELECT idx, text FROM phase_chunks WHERE job_id = ? AND phase = 'formatter' "
        "AND chunk_count = ?",
        (job_id, count),
    )
    return {row[0]: row[1] for row in rows}


def save_chunk(
    conn: sqlite3.Connection, *, job_id: int, count: int, index: int, text: str, now: datetime
) -> None:
    """Keep one finished formatter chunk (inside the caller's transaction)."""
    conn.execute(
        "INSERT OR REPLACE INTO phase_chunks (job_id, phase, chunk_count, idx, text, "
        "created_at) VALUES (?, 'formatter', ?, ?, ?, ?)",
        (job_id, count, index, text, timestamp(now)),
    )
