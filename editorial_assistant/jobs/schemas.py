"""What the job endpoints take and return."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from editorial_assistant.transcripts.schemas import TranscriptOut


class JobBase(BaseModel):
    """Fields every view of a job shows."""

    id: int
    media_id: str
    status: str
    priority: int
    attempts: int
    cost_usd: float
    error: str | None
    pause_reason: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    updated_at: str


class JobSummary(JobBase):
    filename: str


class JobPage(BaseModel):
    jobs: list[JobSummary]
    total: int
    limit: int
    offset: int


class PhaseOut(BaseModel):
    name: str
    status: str
    tier: int | None
    tier_reason: str | None
    model: str | None
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    error: str | None
    started_at: str | None
    finished_at: str | None


class JobOut(JobBase):
    pause_requested: bool
    want_timestamps: bool
    heartbeat_at: str | None
    queued_at: str | None
    transcript: TranscriptOut
    phases: list[PhaseOut]
    outputs: list[str]
    waiting_for_slot_since: str | None = Field(
        None,
        description="Set while the running job's next LLM call waits for one of the worker's "
        "call slots (`worker.concurrency`); the job's events say which phase or chunk waits.",
    )


class EventOut(BaseModel):
    id: int
    at: str
    kind: str
    message: str
    data: dict[str, Any] | None


class EventPage(BaseModel):
    events: list[EventOut]


class PhaseRetryIn(BaseModel):
    tier: int | None = Field(
        None, ge=0, le=2, description="Force a tier: 0 cheap, 1 default, 2 strong."
    )


class PriorityIn(BaseModel):
    priority: int = Field(ge=-100, le=100, description="Higher runs first.")
