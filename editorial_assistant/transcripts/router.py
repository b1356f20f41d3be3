"""``POST /api/transcripts``: upload a caption file and queue a job for it."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile

from editorial_assistant import deps
from editorial_assistant.audit.service import Who
from editorial_assistant.auth.rules import allow
from editorial_assistant.config import Settings
from editorial_assistant.errors import ErrorOut
from editorial_assistant.jobs.tasks import JobQueue
from editorial_assistant.transcripts.schemas import SubmissionOut
from editorial_assistant.transcripts.service import submit_transcript

router = APIRouter(prefix="/api", tags=["transcripts"])


@router.post(
    "/transcripts",
    status_code=201,
    response_model=SubmissionOut,
    dependencies=[allow("editor", limit="upload")],
    responses={
        409: {"model": ErrorOut},
        413: {"model": ErrorOut},
        415: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
)
def upload_transcript(
    file: Annotated[UploadFile, File(description="The caption file (SRT, editor export, text).")],
    request: Request,
    priority: Annotated[int, Form(ge=-100, le=100, description="Higher runs first.")] = 0,
    force: Annotated[bool, Form(description="Process even if the Media ID exists.")] = False,
    timestamps: Annotated[bool, Form(description="Run the chapters phase for any length.")] = False,
    settings: Settings = Depends(deps.settings),
    conn: sqlite3.Connection = Depends(deps.conn),
    queue: JobQueue = Depends(deps.queue),
    now: datetime = Depends(deps.now),
    who: Who = Depends(deps.who),
) -> dict[str, object]:
    """Store the original file untouched, detect its format, and queue a job."""
    data = file.file.read(settings.intake.max_upload_bytes + 1)
    result = submit_transcript(
        conn,
        data_dir=settings.data_dir,
        filename=file.filename or "",
        data=data,
        max_bytes=settings.intake.max_upload_bytes,
        now=now,
        priority=priority,
        force=force,
        want_timestamps=timestamps,
        who=who,
        owner_id=request.state.actor.user_id,
    )
    queue.enqueue(result["job"]["id"], priority)
    return result
