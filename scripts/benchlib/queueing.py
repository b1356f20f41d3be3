"""Queue scenarios: makespan and queue-to-start latency for batches, warm single jobs and jobs
that arrive after the queue has sat idle.

Queue-to-start of a job is ``started_at - created_at`` as the service recorded them (the API
stamps ``created_at`` when the upload request starts; the worker stamps ``started_at`` when it
claims the job), so the client's polling never enters the figure.
"""

from __future__ import annotations

import random
import sys
import time
from typing import Any

import httpx

from benchlib.client import Uploader, timings, wait_all, wait_job
from benchlib.processes import Service, check_alive
from benchlib.stats import ms_between, summarize

JOB_TIMEOUT_SECONDS = 120


def progress(message: str) -> None:
    """One line on stderr so a long run shows where it is."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def client_for(service: Service) -> httpx.Client:
    """A keep-alive client for the service's API, signed in with the scenario's key."""
    return httpx.Client(base_url=service.base_url, headers=service.headers, timeout=30)


def latencies(rows: list[dict[str, Any]]) -> list[float]:
    """Queue-to-start of each job, in milliseconds."""
    return [ms_between(row["created_at"], row["started_at"]) for row in rows]


def queued_at_mismatches(rows: list[dict[str, Any]]) -> int:
    """Jobs whose ``queued_at`` differs from ``created_at`` (none expected on first submit)."""
    return sum(row["queued_at"] != row["created_at"] for row in rows)


def batch(service: Service, uploader: Uploader, count: int) -> dict[str, Any]:
    """Submit ``count`` jobs at once; makespan and queue-to-start of the batch."""
    progress(f"batch of {count}: submitting all at once")
    with client_for(service) as client:
        began = time.monotonic()
        ids = uploader.submit_batch(service, count)
        ended = wait_all(client, timeout=JOB_TIMEOUT_SECONDS + count)
        rows = timings(client, ids)
    check_alive(service)
    first = min(rows, key=lambda row: row["created_at"])["created_at"]
    last = max(rows, key=lambda row: row["finished_at"])["finished_at"]
    return {
        "jobs": count,
        "makespan_ms": ms_between(first, last),
        "wall_ms": (ended - began) * 1000,
        "queue_to_start_ms": summarize(latencies(rows)),
        "queued_at_mismatches": queued_at_mismatches(rows),
        "failed_uploads": uploader.failed_uploads,
        "samples": rows,
    }


def one_job(client: httpx.Client, uploader: Uploader) -> int:
    """Submit one job and wait until it has finished; return its id."""
    job_id = uploader.submit(client)
    wait_job(client, job_id, timeout=JOB_TIMEOUT_SECONDS)
    return job_id


def single(service: Service, uploader: Uploader, samples: int) -> dict[str, Any]:
    """One job at a time on a warm, otherwise empty queue (one warm-up job not counted)."""
    progress(f"single jobs: {samples} one after another")
    with client_for(service) as client:
        one_job(client, uploader)
        ids = []
        for _ in range(samples):
            # A random pause so submissions do not lock onto the worker's polling phase.
            time.sleep(random.uniform(0.05, 0.25))
            ids.append(one_job(client, uploader))
        rows = timings(client, ids)
    check_alive(service)
    return {
        "queue_to_start_ms": summarize(latencies(rows)),
        "queued_at_mismatches": queued_at_mismatches(rows),
        "failed_uploads": uploader.failed_uploads,
        "samples": rows,
    }


def after_idle(
    service: Service, uploader: Uploader, *, idle_seconds: float, gap_seconds: float, samples: int
) -> dict[str, Any]:
    """A warm-up job, ``idle_seconds`` of silence, then one job; then more after shorter gaps."""
    with client_for(service) as client:
        ids = [one_job(client, uploader)]
        for n in range(samples):
            pause = idle_seconds if n == 0 else gap_seconds
            progress(f"after idle: sample {n + 1}/{samples} after {pause:g} s of idle queue")
            time.sleep(pause)
            ids.append(one_job(client, uploader))
        rows = timings(client, ids)
    check_alive(service)
    summary = idle_summary(rows, idle_seconds=idle_seconds, gap_seconds=gap_seconds)
    return {**summary, "failed_uploads": uploader.failed_uploads}


def idle_summary(
    rows: list[dict[str, Any]], *, idle_seconds: float, gap_seconds: float
) -> dict[str, Any]:
    """Split after-idle samples into the long-idle first job and the short-gap rest."""
    measured = rows[1:]
    for previous, row in zip(rows, measured, strict=False):
        row["idle_before_ms"] = ms_between(previous["finished_at"], row["created_at"])
    values = latencies(measured)
    return {
        "idle_seconds": idle_seconds,
        "gap_seconds": gap_seconds,
        "first_after_long_idle_ms": values[0],
        "after_gaps_ms": summarize(values[1:]),
        "queue_to_start_ms": summarize(values),
        "queued_at_mismatches": queued_at_mismatches(measured),
        "samples": measured,
    }
