"""What the intake endpoint returns."""

from __future__ import annotations

from pydantic import BaseModel


class TranscriptOut(BaseModel):
    id: int
    media_id: str
    filename: str
    format: str
    encoding: str
    word_count: int
    duration_seconds: float
    duration_estimated: bool
    size_bytes: int
    sha256: str
    created_at: str


class JobRef(BaseModel):
    id: int
    status: str
    priority: int
    media_id: str


class SubmissionOut(BaseModel):
    transcript: TranscriptOut
    job: JobRef
