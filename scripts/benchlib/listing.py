"""The listing scenario: ``GET /api/jobs?limit=20`` against the minimal app, same run, same rows.

The product API is seeded through its own upload endpoint and worker, then ``minimal_app`` is
started on the same database file under the same gunicorn settings. Both are warmed up, then
measured in alternating rounds (minimal, product, minimal, product, …) so drift on the machine
hits both alike; the median round of each is reported. ``alternate`` and ``median_round`` do
the same for any set of targets (the pages scenario uses them).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, NamedTuple

import httpx

from benchlib.client import Uploader, wait_all
from benchlib.loadgen import LoadResult, run_load
from benchlib.processes import (
    BenchError,
    Service,
    check_alive,
    free_port,
    launch,
    wait_ready,
)
from benchlib.queueing import client_for, progress
from benchlib.stats import ratio

PATH = "/api/jobs?limit=20"
SEED_CONCURRENCY = 25


def seed(service: Service, uploader: Uploader, count: int) -> None:
    """Upload ``count`` caption files through the API and let the worker finish them all."""
    progress(f"listing: seeding {count} jobs through the API")
    with client_for(service) as client:
        for start in range(0, count, SEED_CONCURRENCY):
            uploader.submit_batch(service, min(SEED_CONCURRENCY, count - start))
        wait_all(client, timeout=120 + count)


def start_minimal(service: Service, *, workers: int) -> str:
    """Serve ``minimal_app`` on the service's database; return its base URL."""
    port = free_port()
    log = service.root / "minimal.log"
    args = ["-m", "gunicorn", "--chdir", str(Path(__file__).parent), "--workers", str(workers)]
    args += ["--worker-class", "uvicorn_worker.UvicornWorker", "--bind", f"127.0.0.1:{port}"]
    env = {**service.env, "BENCH_DATABASE": str(service.database)}
    process = launch([*args, "--timeout", "60", "minimal_app:app"], env, log)
    service.extra.append(process)
    base_url = f"http://127.0.0.1:{port}"
    wait_ready(base_url + PATH, process, log)
    return base_url


def check_same_rows(service: Service, minimal_url: str) -> None:
    """Both endpoints must return the same 20 rows, or the comparison means nothing."""
    product = _rows(service.base_url, service.headers)
    minimal = _rows(minimal_url, service.headers)
    if product != minimal or len(product) != 20:
        raise BenchError("the product and the minimal app do not return the same 20 rows")


def _rows(base_url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = httpx.get(base_url + PATH, headers=headers, timeout=10)
    if response.status_code != 200:
        raise BenchError(f"GET {base_url + PATH}: {response.status_code} {response.text[:300]}")
    return list(response.json()["jobs"])


class Target(NamedTuple):
    """One URL to load and the headers every request to it sends."""

    url: str
    headers: dict[str, str]


def measure(
    service: Service,
    minimal_url: str,
    *,
    tool: str,
    clients: int,
    seconds: float,
    rounds: int,
    warmup: float,
) -> dict[str, Any]:
    """Alternate load rounds on both servers; medians, every round and the ratio."""
    check_same_rows(service, minimal_url)
    runs = alternate(
        baseline_targets(service, minimal_url),
        label="listing",
        tool=tool,
        clients=clients,
        seconds=seconds,
        rounds=rounds,
        warmup=warmup,
    )
    check_alive(service)
    return summarize_runs(runs, tool=tool, clients=clients, seconds=seconds)


def baseline_targets(service: Service, minimal_url: str) -> dict[str, Target]:
    """The listing on the minimal app and on the product, with the same request."""
    # Both get the same request, key included: the minimal app just ignores the header.
    return {
        "minimal": Target(minimal_url + PATH, service.headers),
        "product": Target(service.base_url + PATH, service.headers),
    }


def alternate(
    targets: dict[str, Target],
    *,
    label: str,
    tool: str,
    clients: int,
    seconds: float,
    rounds: int,
    warmup: float,
) -> dict[str, list[LoadResult]]:
    """Warm every target up, then load them in turn, ``rounds`` times; every round, by name."""
    for target in targets.values():
        run_load(tool, target.url, clients=clients, seconds=warmup, headers=target.headers)
    runs: dict[str, list[LoadResult]] = {name: [] for name in targets}
    for n in range(rounds):
        for name, target in targets.items():
            progress(f"{label}: round {n + 1}/{rounds}, {name}, {clients} clients, {seconds:g} s")
            load = run_load(
                tool, target.url, clients=clients, seconds=seconds, headers=target.headers
            )
            runs[name].append(load)
    failed = sum(result.errors for results in runs.values() for result in results)
    if failed:
        raise BenchError(f"{failed} requests failed under load; see the service logs")
    return runs


def summarize_runs(
    runs: dict[str, list[LoadResult]], *, tool: str, clients: int, seconds: float
) -> dict[str, Any]:
    """Median round per server, plus the listing/minimal throughput ratio."""
    medians = {name: median_round(results) for name, results in runs.items()}
    return {
        "tool": tool,
        "clients": clients,
        "seconds": seconds,
        "path": PATH,
        "minimal": medians["minimal"],
        "product": medians["product"],
        "ratio": ratio(medians["product"]["rps"], medians["minimal"]["rps"]),
        "rounds": {name: [r.as_dict() for r in results] for name, results in runs.items()},
    }


def median_round(results: list[LoadResult]) -> dict[str, float]:
    """The median of each figure over one target's rounds."""
    return {
        "rps": statistics.median(r.rps for r in results),
        "p50_ms": statistics.median(r.p50_ms for r in results),
        "p99_ms": statistics.median(r.p99_ms for r in results),
    }
