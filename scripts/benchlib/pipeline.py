"""The pipeline scenario: a batch on the OpenRouter backend against a fake server with a fixed
latency, its makespan divided by the ideal ``calls × latency ÷ concurrency``.

The fake (``tests/fakes/openrouter.py``) runs in the bench process; the service is the real
``migrate`` + ``api`` + ``worker`` pointed at it, with cheap prices for its three model slugs so
the budget guard never pauses a job. Calls are counted from what the fake received, never
assumed, and stamped on arrival and on answer. From the stamps: the most calls that were ever in
flight at once (the worker must keep it within ``worker.concurrency``, the ideal's divisor), and
the call slots' time split into calls and idle time (before the first call, while calls ran,
after the last answer). Each job's time from upload to finished shows what editors wait.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from benchlib.client import Uploader, timings, wait_all
from benchlib.machine import effective_settings
from benchlib.processes import BenchError, Service, check_alive
from benchlib.queueing import client_for, progress
from benchlib.stats import parse_time, summarize
from tests.fakes.openrouter import FakeOpenRouter, RecordedRequest, Reply

CHAT_SUFFIX = "/chat/completions"
API_KEY = "sk-or-v1-bench"
SLUGS = {
    "EA_MODELS_CHEAP": "bench/cheap",
    "EA_MODELS_DEFAULT": "bench/default",
    "EA_MODELS_STRONG": "bench/strong",
}
PRICE_PER_TOKEN = (1e-9, 1e-9)
READY_LINE = "consuming with"
READY_DEADLINE_SECONDS = 60
TARGET_RATIO = 1.10


@dataclass
class Call:
    """One chat-completion request as the fake saw it, with wall-clock times."""

    job: str
    phase: str
    status: int
    arrived: float
    answered: float


class TimedFake(FakeOpenRouter):
    """The fake OpenRouter, also keeping when each chat completion arrived and was answered."""

    def __init__(self, *, latency: float) -> None:
        prices = dict.fromkeys(SLUGS.values(), PRICE_PER_TOKEN)
        super().__init__(latency=latency, model_prices=prices)
        self.calls: list[Call] = []
        self._calls_lock = threading.Lock()

    def answer(self, record: RecordedRequest) -> Reply | None:
        """Answer as the fake does; stamp chat completions (``answer`` runs the latency)."""
        arrived = time.time()
        reply = super().answer(record)
        if record.path.split("?", 1)[0].endswith(CHAT_SUFFIX):
            call = Call(record.job, record.phase, record.status, arrived, time.time())
            with self._calls_lock:
                self.calls.append(call)
        return reply

    def completions(self) -> list[Call]:
        """The chat completions received so far (not the worker's price fetch)."""
        with self._calls_lock:
            return list(self.calls)


def service_env(fake: FakeOpenRouter) -> dict[str, str]:
    """Settings that put the service on the fake, with a budget that never pauses a job."""
    return {
        "EA_LLM_BACKEND": "openrouter",
        "EA_OPENROUTER_BASE_URL": fake.base_url,
        "EA_OPENROUTER_API_KEY": API_KEY,
        "EA_BUDGET_MONTHLY_USD": "1000000",
        "EA_BUDGET_JOB_CAP_USD": "1000",
        **SLUGS,
    }


def wait_worker_ready(service: Service) -> None:
    """Wait until the worker has fetched prices and started its consumer threads."""
    log = service.root / "worker.log"
    deadline = time.monotonic() + READY_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        check_alive(service)
        if log.exists() and READY_LINE in log.read_text(errors="replace"):
            time.sleep(0.2)  # the consumer starts its threads just after logging the line
            return
        time.sleep(0.05)
    raise BenchError("the worker never logged that it was consuming")


def concurrency(service: Service) -> int:
    """LLM call slots (``worker.concurrency``), as the service's own configuration says."""
    return int(effective_settings(service.env, service.tree)["worker"]["concurrency"])


def batch(
    service: Service, fake: TimedFake, uploader: Uploader, count: int, *, latency: float
) -> dict[str, Any]:
    """Submit ``count`` jobs at once to a ready worker; makespan against the ideal."""
    threads = concurrency(service)
    wait_worker_ready(service)
    progress(f"pipeline: {count} jobs at once, {latency:g} s per call, {threads} call slots")
    with client_for(service) as client:
        ids = uploader.submit_batch(service, count)
        wait_all(client, timeout=120 + count * 4 * latency)
        rows = timings(client, ids)
    check_alive(service)
    calls = fake.completions()
    if not calls:
        raise BenchError("the fake OpenRouter received no chat completions")
    result = analyse(rows, calls, latency=latency, threads=threads)
    return {**result, "failed_uploads": uploader.failed_uploads, "samples": rows}


def analyse(
    rows: list[dict[str, Any]], calls: list[Call], *, latency: float, threads: int
) -> dict[str, Any]:
    """Makespan, ideal, ratio, calls in flight, the slots' time and what editors waited."""
    jobs = [_job_times(row) for row in rows]
    first = min(job["created"] for job in jobs)
    end = max(job["finished"] for job in jobs)
    makespan = end - first
    ideal = len(calls) * latency / threads
    per_job = Counter(call.job for call in calls)
    bound = whole_job_bound([n * latency for n in per_job.values()], threads)
    return {
        "jobs": len(rows),
        "concurrency": threads,
        "latency_s": latency,
        "calls": len(calls),
        "calls_by_phase": dict(Counter(call.phase for call in calls)),
        "calls_per_job": summarize(list(per_job.values())),
        "failed_calls": sum(call.status != 200 for call in calls),
        "max_in_flight": max_in_flight(calls),
        "makespan_s": makespan,
        "ideal_s": ideal,
        "ratio": makespan / ideal,
        "utilisation": len(calls) * latency / (threads * makespan),
        "whole_job_bound_s": bound,
        "ratio_to_bound": makespan / bound,
        "upload_span_ms": (max(job["created"] for job in jobs) - first) * 1000,
        "slot_seconds": slot_seconds(calls, slots=threads, start=first, end=end),
        "slot_handoff_ms": summarize([gap * 1000 for gap in slot_handoffs(calls, threads)]),
        "call_at_fake_ms": summarize([(c.answered - c.arrived) * 1000 for c in calls]),
        "time_to_finished_s": time_to_finished(jobs),
        "calls_detail": [asdict(call) for call in calls],
    }


def _job_times(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        **{
            name: parse_time(row[f"{name}_at"]).timestamp()
            for name in ("created", "started", "finished")
        },
    }


def whole_job_bound(chains: list[float], threads: int) -> float:
    """Makespan of the jobs' call chains, each kept on one thread, longest first (LPT).

    For jobs with equal chains (the usual case here) this is the best any thread-per-job
    worker can do: ``ceil(jobs / threads) × chain``.
    """
    loads = [0.0] * threads
    for chain in sorted(chains, reverse=True):
        loads[loads.index(min(loads))] += chain
    return max(loads)


def max_in_flight(calls: list[Call]) -> int:
    """The most calls the fake was answering at one moment."""
    steps = sorted([(c.arrived, 1) for c in calls] + [(c.answered, -1) for c in calls])
    most = current = 0
    for _, step in steps:  # at equal times the answer (-1) sorts first
        current += step
        most = max(most, current)
    return most


def slot_seconds(calls: list[Call], *, slots: int, start: float, end: float) -> dict[str, float]:
    """``slots × makespan`` split into time in calls and idle slots before, during and after."""
    before = slots * (min(c.arrived for c in calls) - start)
    after = slots * (end - max(c.answered for c in calls))
    llm = sum(c.answered - c.arrived for c in calls)
    total = slots * (end - start)
    return {
        "total": total,
        "llm": llm,
        "idle_before_first_call": before,
        "idle_while_calls_ran": total - llm - before - after,
        "idle_after_last_answer": after,
    }


def slot_handoffs(calls: list[Call], slots: int) -> list[float]:
    """Seconds each freed slot stayed empty: the kth answer to the (k + slots)th arrival.

    With at most ``slots`` calls in flight, call k + slots can only arrive after k calls ended,
    so none of these is negative unless the bound was broken.
    """
    arrivals = sorted(c.arrived for c in calls)
    answers = sorted(c.answered for c in calls)
    return [arrivals[k + slots] - answers[k] for k in range(len(calls) - slots)]


def time_to_finished(jobs: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds from each job's upload to its finish: first, mean, p50 and last."""
    waits = [job["finished"] - job["created"] for job in jobs]
    return {**summarize(waits), "mean": sum(waits) / len(waits)}
