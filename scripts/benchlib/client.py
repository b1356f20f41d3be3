"""Talking to a running API: uploading caption files, waiting for jobs, reading their timings.

Uploads use the real ``POST /api/transcripts``; each needs its own Media ID, so files are named
``2WLI{n:04d}HD.srt``. The caption is the corpus's Cindy's Story SRT (about 4.5 minutes) when it
exists, else a generated 15-minute SRT.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

import httpx

from benchlib.processes import BenchError, Service

CORPUS_FILE = Path("/work/shared/corpus/transcripts/2WLICindysStorySM_ForClaude.txt")
TERMINAL = {"completed", "failed", "paused", "cancelled"}
POLL_SECONDS = 0.02
BATCH_POLL_SECONDS = 0.05
UPLOAD_ATTEMPTS = 5
Outcome = httpx.Response | httpx.TransportError
RETRY_PAUSE_SECONDS = 0.05


def caption_bytes() -> tuple[bytes, str]:
    """The caption file to upload and where it came from."""
    if CORPUS_FILE.is_file():
        return CORPUS_FILE.read_bytes(), str(CORPUS_FILE)
    return generated_srt(minutes=15), "generated 15-minute SRT"


def generated_srt(*, minutes: int) -> bytes:
    """A plausible SRT: one short spoken line every three seconds."""
    cues = []
    for n in range(1, minutes * 20 + 1):
        start, end = (n - 1) * 3, (n - 1) * 3 + 2.5
        line = f"Speaker {n % 3}: this is caption number {n}, about the garden and the river."
        cues.append(f"{n}\n{_srt_time(start)} --> {_srt_time(end)}\n{line}\n")
    return "\n".join(cues).encode()


def _srt_time(seconds: float) -> str:
    whole = int(seconds)
    millis = round((seconds - whole) * 1000)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d},{millis:03d}"


class Uploader:
    """Hands out distinct Media IDs and uploads the caption under them.

    An upload answered with a 5xx, or whose connection the server dropped (uvicorn closes a
    connection after an unhandled exception), is retried under a fresh name (the failed attempt
    may have left a row behind) and counted in ``failed_uploads``: the figures stay measurable
    and the report shows how often the product failed.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.failed_uploads = 0
        self._numbers = itertools.count(1)

    def next_name(self) -> str:
        """A file name with a Media ID not used yet in this data folder."""
        return f"2WLI{next(self._numbers):04d}HD.srt"

    def submit(self, client: httpx.Client) -> int:
        """Upload once (retrying a failure); return the job id."""
        for attempt in range(UPLOAD_ATTEMPTS):
            try:
                response: Outcome = client.post("/api/transcripts", files=self._file())
            except httpx.TransportError as exc:
                response = exc
            if not self._retry(response, attempt):
                return _job_id(response)
            time.sleep(RETRY_PAUSE_SECONDS)
        raise AssertionError("unreachable: _retry raises on the last attempt")

    async def submit_async(self, client: httpx.AsyncClient) -> int:
        """Upload once from an async client (retrying a failure); return the job id."""
        for attempt in range(UPLOAD_ATTEMPTS):
            try:
                response: Outcome = await client.post("/api/transcripts", files=self._file())
            except httpx.TransportError as exc:
                response = exc
            if not self._retry(response, attempt):
                return _job_id(response)
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
        raise AssertionError("unreachable: _retry raises on the last attempt")

    def submit_batch(self, service: Service, count: int) -> list[int]:
        """Upload ``count`` files at once (all requests in flight together)."""
        return asyncio.run(self._batch(service, count))

    async def _batch(self, service: Service, count: int) -> list[int]:
        async with httpx.AsyncClient(
            base_url=service.base_url,
            headers=service.headers,
            limits=httpx.Limits(max_connections=count),
            timeout=60,
        ) as client:
            return list(await asyncio.gather(*(self.submit_async(client) for _ in range(count))))

    def _file(self) -> dict[str, tuple[str, bytes]]:
        return {"file": (self.next_name(), self.data)}

    def _retry(self, outcome: Outcome, attempt: int) -> bool:
        if isinstance(outcome, httpx.Response) and outcome.status_code < 500:
            return False
        self.failed_uploads += 1
        if attempt + 1 == UPLOAD_ATTEMPTS:
            raise BenchError(f"upload failed {UPLOAD_ATTEMPTS} times, last: {_describe(outcome)}")
        return True


def _describe(outcome: Outcome) -> str:
    if isinstance(outcome, httpx.Response):
        return f"{outcome.status_code} {outcome.text[:300]}"
    return f"{type(outcome).__name__}: {outcome}"


def _job_id(response: Outcome) -> int:
    if not isinstance(response, httpx.Response) or response.status_code != 201:
        raise BenchError(f"upload refused: {_describe(response)}")
    return int(response.json()["job"]["id"])


def job(client: httpx.Client, job_id: int) -> dict[str, Any]:
    """``GET /api/jobs/{id}``."""
    response = client.get(f"/api/jobs/{job_id}")
    if response.status_code != 200:
        raise BenchError(f"GET /api/jobs/{job_id}: {response.status_code} {response.text[:300]}")
    return response.json()


def wait_job(client: httpx.Client, job_id: int, *, timeout: float) -> float:
    """Poll one job until it is in a final state; return ``time.monotonic()`` then."""
    deadline = time.monotonic() + timeout
    while job(client, job_id)["status"] not in TERMINAL:
        if time.monotonic() > deadline:
            raise BenchError(f"job {job_id} did not finish in {timeout:.0f} s")
        time.sleep(POLL_SECONDS)
    return time.monotonic()


def wait_all(client: httpx.Client, *, timeout: float) -> float:
    """Poll until no job is queued or running; return ``time.monotonic()`` then."""
    deadline = time.monotonic() + timeout
    while count := unfinished(client):
        if time.monotonic() > deadline:
            raise BenchError(f"{count} jobs still queued or running after {timeout:.0f} s")
        time.sleep(BATCH_POLL_SECONDS)
    return time.monotonic()


def unfinished(client: httpx.Client) -> int:
    """How many jobs are queued or running (the data folder holds only this run's jobs)."""
    return sum(
        client.get("/api/jobs", params={"status": status, "limit": 1}).json()["total"]
        for status in ("queued", "running")
    )


def timings(client: httpx.Client, job_ids: list[int]) -> list[dict[str, Any]]:
    """Status and timestamps of each job; a job that did not complete breaks the benchmark."""
    rows = []
    for job_id in job_ids:
        detail = job(client, job_id)
        if detail["status"] != "completed":
            raise BenchError(f"job {job_id} ended {detail['status']}: {detail.get('error')}")
        keys = ("id", "status", "created_at", "queued_at", "started_at", "finished_at")
        rows.append({key: detail[key] for key in keys})
    return rows
