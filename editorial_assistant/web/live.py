"""Live updates for the queue and job pages: Server-Sent Events read from the database.

The worker and the API are different processes, so the page cannot be told of progress in
memory; every change to a job writes a row to ``job_events`` in the same transaction, and the
newest row's id is the *cursor*. A stream looks at it once a second and sends ``change`` with the
new cursor whenever it moved (as the event's ``id``, so a reconnecting browser says where it
was); the page then fetches itself again and swaps its live parts. A stream ends after
``STREAM_SECONDS`` (the browser reconnects), and at once when the server is told to stop
(``end_streams_on_exit``): a graceful stop waits for open responses, and an open stream would
otherwise hold every restart of the API for the whole graceful timeout.
Asked for JSON instead, the same URLs answer the cursor once: the polling fallback.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from editorial_assistant.auth.rules import allow, job_project
from editorial_assistant.jobs.lifecycle import get_job_or_raise
from editorial_assistant.jobs.router import JobId

router = APIRouter(include_in_schema=False)
T = TypeVar("T")
STOPPING = threading.Event()
POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
STREAM_SECONDS = 55.0
RETRY_MILLISECONDS = 3000


def cursor(conn: sqlite3.Connection, job_id: int | None = None) -> int:
    """The id of the newest job event (of one job, or of any)."""
    if job_id is None:
        row = conn.execute("SELECT max(id) FROM job_events").fetchone()
    else:
        row = conn.execute("SELECT max(id) FROM job_events WHERE job_id = ?", (job_id,)).fetchone()
    return int(row[0] or 0)


@router.get("/live", dependencies=[allow("viewer")])
async def queue_changes(
    request: Request,
    cursor_param: Annotated[int, Query(alias="cursor", ge=0, le=2**62)] = 0,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> Response:
    """Changes to any job: what the queue page listens to."""
    return await _answer(request, None, _start(cursor_param, last_event_id))


@router.get("/jobs/{job_id}/live", dependencies=[allow("viewer", project=job_project)])
async def job_changes(
    request: Request,
    job_id: JobId,
    cursor_param: Annotated[int, Query(alias="cursor", ge=0, le=2**62)] = 0,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> Response:
    """Changes to one job: what its page listens to."""
    await _read(request, lambda conn: get_job_or_raise(conn, job_id=job_id))  # 404 if none
    return await _answer(request, job_id, _start(cursor_param, last_event_id))


def end_streams_on_exit() -> None:
    """Make the server's stop signals (SIGTERM, SIGINT) also end the open streams.

    Called as the app starts inside the server (uvicorn installs its own handlers first, and
    puts back the originals when it stops); the server's handler still runs, after ours.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # an app run in a test client's thread: no signals to follow
    STOPPING.clear()
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue

        def stop_streams(
            number: int, frame: object, previous: Callable[..., Any] = previous
        ) -> None:
            STOPPING.set()
            previous(number, frame)

        signal.signal(signum, stop_streams)


def _start(given: int, last_event_id: str | None) -> int:
    if last_event_id and last_event_id.isdigit():
        return int(last_event_id)
    return given


async def _answer(request: Request, job_id: int | None, seen: int) -> Response:
    if "text/event-stream" not in request.headers.get("accept", ""):
        return JSONResponse({"cursor": await _read(request, lambda conn: cursor(conn, job_id))})
    return StreamingResponse(
        _stream(request, job_id, seen),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _read(request: Request, query: Callable[[sqlite3.Connection], T]) -> T:
    def read() -> T:
        with request.app.state.db.borrow() as conn:
            return query(conn)

    return await run_in_threadpool(read)


async def _stream(request: Request, job_id: int | None, seen: int) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    started = last_sent = loop.time()
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    while loop.time() - started < STREAM_SECONDS and not STOPPING.is_set():
        if await request.is_disconnected():
            return
        now = await _read(request, lambda conn: cursor(conn, job_id))
        if now != seen:
            seen = now
            last_sent = loop.time()
            yield f"id: {now}\nevent: change\ndata: {now}\n\n"
        elif loop.time() - last_sent >= HEARTBEAT_SECONDS:
            last_sent = loop.time()
            yield ": still here\n\n"
        await asyncio.sleep(POLL_SECONDS)
