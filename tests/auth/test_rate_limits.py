"""Rate limits: counting, refusing with Retry-After, recovering, failing open, across processes."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from editorial_assistant.auth.ratelimit import Decision, Limit, RateLimiter
from editorial_assistant.web.hygiene import install_hygiene

ROOT = Path(__file__).resolve().parents[2]
FIVE_A_MINUTE = Limit(count=5, seconds=60)
# Long enough between steady-rate requests that a test run never earns an extra one.
HAMMERED = Limit(count=25, seconds=3600)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limiter(tmp_path: Path, clock: Clock) -> Iterator[RateLimiter]:
    limiter = RateLimiter(tmp_path / "ratelimit.db", clock=clock)
    yield limiter
    limiter.close()


def hits(limiter: RateLimiter, key: str, limit: Limit, times: int) -> list[Decision]:
    return [limiter.hit(key, limit) for _ in range(times)]


@pytest.mark.parametrize(
    ("text", "count", "seconds"),
    [
        ("10/minute", 10, 60),
        ("600/hour", 600, 3600),
        ("5/second", 5, 1),
        ("30/day", 30, 86400),
        ("20/15s", 20, 15),
        (" 3 / 2h ", 3, 7200),
    ],
)
def test_a_limit_is_read_from_its_short_form(text: str, count: int, seconds: int) -> None:
    assert Limit.parse(text) == Limit(count=count, seconds=seconds)


@pytest.mark.parametrize("text", ["", "10", "ten/minute", "0/minute", "10/fortnight", "5/0s"])
def test_a_malformed_limit_is_refused_naming_the_value_and_the_allowed_forms(text: str) -> None:
    with pytest.raises(ValueError, match="is not a rate limit") as raised:
        Limit.parse(text)
    assert repr(text) in str(raised.value)
    assert "10/minute" in str(raised.value) and "20/15s" in str(raised.value)


def test_it_lets_the_limit_through_counting_down(limiter: RateLimiter) -> None:
    decisions = hits(limiter, "login:alice", FIVE_A_MINUTE, 5)
    assert all(decision.allowed for decision in decisions)
    assert [decision.remaining for decision in decisions] == [4, 3, 2, 1, 0]


def test_it_refuses_past_the_limit_with_a_whole_retry_after(limiter: RateLimiter) -> None:
    hits(limiter, "login:alice", FIVE_A_MINUTE, 5)
    refused = limiter.hit("login:alice", FIVE_A_MINUTE)
    assert refused == Decision(allowed=False, retry_after=12, remaining=0)


def test_refused_requests_do_not_push_the_retry_further_away(
    limiter: RateLimiter, clock: Clock
) -> None:
    hits(limiter, "login:alice", FIVE_A_MINUTE, 5)
    clock.advance(5)
    assert [d.retry_after for d in hits(limiter, "login:alice", FIVE_A_MINUTE, 3)] == [7, 7, 7]


def test_one_more_request_is_let_through_each_interval(limiter: RateLimiter, clock: Clock) -> None:
    hits(limiter, "login:alice", FIVE_A_MINUTE, 5)
    clock.advance(11.5)
    assert limiter.hit("login:alice", FIVE_A_MINUTE).retry_after == 1
    clock.advance(0.5)
    assert limiter.hit("login:alice", FIVE_A_MINUTE).allowed
    assert not limiter.hit("login:alice", FIVE_A_MINUTE).allowed


def test_a_quiet_period_restores_the_whole_burst(limiter: RateLimiter, clock: Clock) -> None:
    hits(limiter, "login:alice", FIVE_A_MINUTE, 6)
    clock.advance(60)
    assert all(decision.allowed for decision in hits(limiter, "login:alice", FIVE_A_MINUTE, 5))
    assert not limiter.hit("login:alice", FIVE_A_MINUTE).allowed


def test_an_uneven_interval_still_lets_the_whole_burst_through(limiter: RateLimiter) -> None:
    seven = Limit(count=7, seconds=60)
    assert [d.allowed for d in hits(limiter, "k", seven, 8)] == [True] * 7 + [False]


def test_keys_are_counted_separately(limiter: RateLimiter) -> None:
    hits(limiter, "login:alice", FIVE_A_MINUTE, 5)
    assert limiter.hit("login:bob", FIVE_A_MINUTE).allowed


def test_peek_answers_without_counting(limiter: RateLimiter) -> None:
    hits(limiter, "login:alice", FIVE_A_MINUTE, 4)
    assert limiter.peek("login:alice", FIVE_A_MINUTE) == Decision(True, 0, 1)
    assert limiter.peek("login:alice", FIVE_A_MINUTE) == Decision(True, 0, 1)
    limiter.hit("login:alice", FIVE_A_MINUTE)
    assert limiter.peek("login:alice", FIVE_A_MINUTE) == Decision(False, 12, 0)


def test_reset_unlocks_a_key_at_once(limiter: RateLimiter) -> None:
    hits(limiter, "login:alice", FIVE_A_MINUTE, 6)
    limiter.reset("login:alice")
    assert limiter.hit("login:alice", FIVE_A_MINUTE) == Decision(True, 0, 4)


def test_limiters_on_one_file_share_their_counts(tmp_path: Path, clock: Clock) -> None:
    first = RateLimiter(tmp_path / "ratelimit.db", clock=clock)
    second = RateLimiter(tmp_path / "ratelimit.db", clock=clock)
    hits(first, "login:alice", FIVE_A_MINUTE, 3)
    hits(second, "login:alice", FIVE_A_MINUTE, 2)
    assert not first.hit("login:alice", FIVE_A_MINUTE).allowed


def test_keys_back_to_a_full_burst_are_pruned(limiter: RateLimiter, clock: Clock) -> None:
    for name in ("a", "b", "c"):
        limiter.hit(name, FIVE_A_MINUTE)
    clock.advance(61)
    limiter.hit("d", FIVE_A_MINUTE)
    with sqlite3.connect(limiter.path) as conn:
        assert conn.execute("SELECT key FROM buckets").fetchall() == [("d",)]


def test_an_unusable_file_fails_open_with_one_warning_a_minute(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "not-a-folder").write_text("", encoding="utf-8")
    limiter = RateLimiter(tmp_path / "not-a-folder" / "ratelimit.db", clock=clock)
    with caplog.at_level(logging.WARNING, logger="editorial_assistant.auth.ratelimit"):
        assert all(d.allowed for d in hits(limiter, "login:alice", FIVE_A_MINUTE, 10))
        clock.advance(30)
        limiter.hit("login:alice", FIVE_A_MINUTE)
        clock.advance(31)
        limiter.hit("login:alice", FIVE_A_MINUTE)
    assert len(caplog.records) == 2
    assert "not enforced" in caplog.records[0].getMessage()


def hammer(path: str, start: Any, results: Any) -> None:
    """One process: four threads hitting one key as fast as they can, after a common start."""
    limiter = RateLimiter(Path(path))
    allowed: list[bool] = []

    def run() -> None:
        allowed.extend(limiter.hit("login:alice", HAMMERED).allowed for _ in range(50))

    start.wait()
    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(sum(allowed))


def test_two_processes_hammering_one_key_never_let_more_than_the_limit_through(
    tmp_path: Path,
) -> None:
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    path = str(tmp_path / "ratelimit.db")
    processes = [context.Process(target=hammer, args=(path, start, results)) for _ in range(2)]
    for process in processes:
        process.start()
    counts = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=10)
        assert process.exitcode == 0
    assert sum(counts) == HAMMERED.count


SERVED = Limit(count=5, seconds=3600)


def gunicorn_app() -> FastAPI:
    """What each gunicorn worker serves in the test below: one route limited per caller."""
    limiter = RateLimiter(Path(os.environ["EA_TEST_RATE_LIMIT_FILE"]))
    app = FastAPI(docs_url=None, redoc_url=None)

    @app.get("/limited")
    def limited(request: Request) -> JSONResponse:
        assert request.client is not None
        decision = limiter.hit(f"api:{request.client.host}", SERVED)
        headers = {} if decision.allowed else {"Retry-After": str(decision.retry_after)}
        body = {"pid": os.getpid(), "client": request.client.host}
        return JSONResponse(body, status_code=200 if decision.allowed else 429, headers=headers)

    install_hygiene(app, max_body_bytes=1024, max_upload_bytes=1024)
    return app


def ask(sock: Path, ip: str) -> httpx.Response:
    """One request on a fresh connection, as cloudflared relays a caller at ``ip``."""
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), timeout=10) as http:
        return http.get("http://editorial.test/limited", headers={"Cf-Connecting-Ip": ip})


def wait_for_both_workers(sock: Path, log: Path) -> None:
    pids: set[int] = set()
    deadline = time.monotonic() + 60
    while len(pids) < 2 and time.monotonic() < deadline:
        try:
            pids.add(ask(sock, f"192.0.2.{len(pids) + 1}").json()["pid"])
        except (httpx.TransportError, ValueError):
            time.sleep(0.1)
    assert len(pids) == 2, log.read_text(errors="replace")[-3000:]


@pytest.mark.system
def test_two_gunicorn_workers_share_one_callers_limit(tmp_path: Path) -> None:
    sock, log = tmp_path / "api.sock", tmp_path / "gunicorn.log"
    env = {**os.environ, "EA_TEST_RATE_LIMIT_FILE": str(tmp_path / "ratelimit.db")}
    command = [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "uvicorn_worker.UvicornWorker"]
    command += ["-b", f"unix:{sock}", "--no-control-socket", "--forwarded-allow-ips", ""]
    command += ["tests.auth.test_rate_limits:gunicorn_app()"]
    with open(log, "wb") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        wait_for_both_workers(sock, log)
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(lambda _: ask(sock, "198.51.100.23"), range(40)))
        assert [a.status_code for a in answers].count(200) == SERVED.count
        refused = [a for a in answers if a.status_code == 429]
        assert len(refused) == 40 - SERVED.count
        assert all(int(a.headers["retry-after"]) >= 1 for a in refused)
        assert {a.json()["client"] for a in answers} == {"198.51.100.23"}
        assert len({a.json()["pid"] for a in answers}) == 2  # both workers counted
        assert ask(sock, "198.51.100.24").status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
