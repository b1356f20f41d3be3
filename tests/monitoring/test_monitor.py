"""The monitor drives each threshold over and back under it with real data: exactly one
"firing" and one "resolved" reach the webhook receiver on 127.0.0.1. Time is the ``now`` each
run is given; the data are real rows, real files and the real API's counters.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from editorial_assistant.cli import cli
from editorial_assistant.config import Settings
from editorial_assistant.db import connect, latest_version, migrate, timestamp, utcnow
from editorial_assistant.monitoring.monitor import run_monitor
from editorial_assistant.monitoring.samples import quantile, reading
from tests.conftest import make_settings
from tests.fakes.receivers import WebhookReceiver
from tests.system.processes import environment, free_port, run, start, stop, wait_for

START = utcnow().replace(day=10, hour=12, minute=0, second=0, microsecond=0)


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def monitored(tmp_path: Path, webhook: WebhookReceiver, **env: str) -> Settings:
    settings = make_settings(tmp_path, EA_ALERTS_WEBHOOK_URL=webhook.url,
                             EA_METRICS_LISTEN="off", **env)  # fmt: skip
    migrate(settings.database_path)
    return settings


def at(settings: Settings, minute: float, units: dict[str, str] | None = None) -> None:
    run_monitor(connect(settings.database_path), settings=settings,
                now=START + timedelta(minutes=minute), systemctl=lambda: units or {})  # fmt: skip


def events(webhook: WebhookReceiver, key: str) -> list[str]:
    return [body["status"] for body in webhook.bodies() if body["alert"] == key]


def queue_jobs(settings: Settings, count: int, status: str = "queued") -> None:
    conn = connect(settings.database_path)
    now = timestamp(START)
    for _ in range(count):
        transcript = conn.execute(
            "INSERT INTO transcripts (media_id, original_filename, stored_path, sha256, "
            "size_bytes, format, encoding, word_count, duration_seconds, created_at) "
            "VALUES ('2WLI1209HD', 'a.srt', 'a.srt', '0', 1, 'srt', 'utf-8', 1, 60, ?)",
            (now,),
        ).lastrowid
        conn.execute(
            "INSERT INTO jobs (transcript_id, media_id, status, created_at, queued_at, updated_at)"
            " VALUES (?, '2WLI1209HD', ?, ?, ?, ?)",
            (transcript, status, now, now, now),
        )


def add_calls(settings: Settings, minute: float, *, ok: int, failed: int, cost: float = 0) -> None:
    conn = connect(settings.database_path)
    if not conn.execute("SELECT count(*) FROM jobs").fetchone()[0]:
        queue_jobs(settings, 1, "completed")
    when = timestamp(START + timedelta(minutes=minute))
    for outcome in ["ok"] * ok + ["http_500"] * failed:
        conn.execute(
            "INSERT INTO llm_calls (job_id, phase, tier, model_requested, prompt_tokens, "
            "completion_tokens, cost_usd, latency_seconds, outcome, created_at) "
            "VALUES (1, 'analyst', 0, 'google/gemini-flash', 1, 1, ?, 1, ?, ?)",
            (cost, outcome, when),
        )


def test_queue_depth_fires_once_and_resolves_once(tmp_path: Path, webhook: WebhookReceiver) -> None:
    settings = monitored(tmp_path, webhook, EA_MONITOR_QUEUE_DEPTH="5")
    at(settings, 0)
    queue_jobs(settings, 6)
    for minute in range(1, 4):
        at(settings, minute)
    connect(settings.database_path).execute("UPDATE jobs SET status = 'completed'")
    for minute in range(4, 12):
        at(settings, minute)
    assert events(webhook, "queue.depth") == ["firing", "resolved"]
    assert webhook.bodies()[0]["summary"] == "6 jobs are queued (limit 5)."


def test_llm_errors_over_the_window_fire_and_age_out(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    settings = monitored(tmp_path, webhook)
    add_calls(settings, 0, ok=8, failed=1)  # 11 %, but fewer than 10 calls would not count
    add_calls(settings, 0.5, ok=9, failed=0)
    at(settings, 1)  # 1 of 18: 6 %
    add_calls(settings, 1.5, ok=0, failed=3)
    at(settings, 2)  # 4 of 21: 19 %
    for minute in range(3, 15):  # the window moves past the failures, then 5 quiet minutes
        at(settings, minute)
    assert events(webhook, "llm.errors") == ["firing", "resolved"]
    firing = next(b for b in webhook.bodies() if b["alert"] == "llm.errors")
    assert "19% of LLM calls failed" in firing["summary"] and "(4 of 21)" in firing["summary"]


def test_the_budget_warns_at_80_then_at_100_and_a_new_month_clears_both(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    settings = monitored(tmp_path, webhook, EA_BUDGET_MONTHLY_USD="10")
    add_calls(settings, 0, ok=1, failed=0, cost=7.0)
    at(settings, 1)
    add_calls(settings, 1, ok=1, failed=0, cost=1.5)
    at(settings, 2)
    add_calls(settings, 2, ok=1, failed=0, cost=2.0)
    at(settings, 3)
    next_month = (START.replace(day=28) + timedelta(days=5)).replace(day=1) - START
    for minute in range(0, 10):
        at(settings, next_month.total_seconds() / 60 + minute)
    assert events(webhook, "budget.warning") == ["firing", "resolved"]
    assert events(webhook, "budget.exhausted") == ["firing", "resolved"]
    [warned] = [b for b in webhook.bodies() if b["alert"] == "budget.warning"][:1]
    assert warned["summary"] == "$8.50 of this month's $10.00 budget is spent (85%)."


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_full_data_disk_fires_and_freeing_it_resolves(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    disk = tmp_path / "data"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], check=True)
    try:
        settings = monitored(tmp_path, webhook)
        at(settings, 0)
        filler = disk / "filler"
        filler.write_bytes(b"\0" * int(3.6 * 1024 * 1024))
        at(settings, 1)
        filler.unlink()
        for minute in range(2, 9):
            at(settings, minute)
        assert events(webhook, "disk.full") == ["firing", "resolved"]
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_memory_is_judged_against_its_threshold(tmp_path: Path, webhook: WebhookReceiver) -> None:
    tight = monitored(tmp_path, webhook, EA_MONITOR_MEMORY_RATIO="0.001")
    at(tight, 0)
    loose = make_settings(tmp_path, EA_ALERTS_WEBHOOK_URL=webhook.url, EA_METRICS_LISTEN="off")
    for minute in range(1, 8):
        at(loose, minute)
    assert events(webhook, "memory.high") == ["firing", "resolved"]


def test_a_failed_unit_fires_and_resolves_when_it_runs_again(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    settings = monitored(tmp_path, webhook)
    worker = "editorial-assistant-worker.service"
    at(settings, 0, {worker: "active"})
    at(settings, 1, {worker: "failed"})
    at(settings, 2, {worker: "failed"})
    at(settings, 3, {worker: "active"})
    assert events(webhook, f"unit.{worker}") == ["firing", "resolved"]


def test_the_on_failure_hook_and_the_alerts_listing(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    settings = monitored(tmp_path, webhook)
    invoke = lambda *args: CliRunner().invoke(cli, list(args), env=settings.environ,  # noqa: E731
                                              obj={"config": None})  # fmt: skip
    said = invoke("alerts", "unit-failed", "editorial-assistant-worker.service")
    assert said.exit_code == 0, said.output
    assert events(webhook, "unit.editorial-assistant-worker.service") == ["firing"]
    listing = invoke("alerts")
    assert listing.exit_code == 1 and "unit.editorial-assistant-worker.service" in listing.output
    assert "webhook delivered" in " ".join(listing.output.split())
    refused = invoke("alerts", "unit-failed", "sshd.service")
    assert refused.exit_code == 2 and "only units of ours" in refused.output


def test_p95_comes_from_the_histogram_as_prometheus_computes_it() -> None:
    registry = CollectorRegistry()
    latency = Histogram("editorial_assistant_http_request_duration_seconds", "t", ["route"],
                        buckets=(0.1, 1, 5, 10), registry=registry)  # fmt: skip
    for seconds in [0.05] * 90 + [7.0] * 10:
        latency.labels(route="/api/jobs").observe(seconds)
    taken = reading(generate_latest(registry).decode())
    # 95th of 100: rank 95 falls in (5, 10], holding 10 of them: 5 + 5 * (95 - 90) / 10.
    assert quantile(0.95, taken["buckets"]) == pytest.approx(7.5)
    assert quantile(0.5, taken["buckets"]) == pytest.approx(0.1 * 50 / 90)


@contextmanager
def real_api(
    tmp_path: Path, webhook: WebhookReceiver, **env: str
) -> Iterator[tuple[Settings, str]]:
    """The real API under gunicorn (two workers) with its metrics listener: (settings, base URL)."""
    port, metrics_port, log = free_port(), free_port(), tmp_path / "api.log"
    env = environment(
        tmp_path,
        EA_METRICS_LISTEN=f"127.0.0.1:{metrics_port}",
        EA_ALERTS_WEBHOOK_URL=webhook.url,
        EA_RATE_LIMITS_ENABLED="false",
        **env,
    )
    assert run(["migrate"], env).returncode == 0
    settings = make_settings(tmp_path, **{k: v for k, v in env.items() if k.startswith("EA_")})
    base = f"http://127.0.0.1:{port}"
    api = start(["api", "--port", str(port), "--workers", "2"], env, log)
    try:
        wait_for(lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, "api", log)
        yield settings, base
    finally:
        assert stop(api) == 0, log.read_text(errors="replace")[-2000:]


def test_api_errors_from_the_real_api_fire_and_resolve(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    with real_api(tmp_path, webhook) as (settings, base):
        at(settings, 0)
        database = sqlite3.connect(settings.database_path)
        database.execute("PRAGMA user_version = 99")  # a newer schema: /readyz answers 503
        answers = [httpx.get(f"{base}/readyz").status_code for _ in range(30)]
        assert answers.count(503) == 30
        at(settings, 6)
        database.execute(f"PRAGMA user_version = {latest_version()}")
        assert all(httpx.get(f"{base}/readyz").status_code == 200 for _ in range(60))
        at(settings, 12)  # clear from here on; resolved once it stayed clear 5 minutes
        assert all(httpx.get(f"{base}/healthz").status_code == 200 for _ in range(30))
        at(settings, 18)
    assert events(webhook, "api.errors") == ["firing", "resolved"]
    assert "100.0% of API requests failed" in webhook.bodies()[0]["summary"]


def test_api_latency_from_the_real_api_fires_and_resolves(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    with real_api(tmp_path, webhook, EA_MONITOR_API_P95_SECONDS="0.05") as (settings, base):
        at(settings, 0)
        for _ in range(25):  # a wrong password costs an argon2 hash: ~0.1 s, by design
            answer = httpx.post(f"{base}/api/auth/login", timeout=10,
                                json={"username": "nobody", "password": "wrong"})  # fmt: skip
            assert answer.status_code == 401, answer.text
        at(settings, 6)
        for minute in (12, 18):
            assert all(httpx.get(f"{base}/healthz").status_code == 200 for _ in range(40))
            at(settings, minute)
    assert events(webhook, "api.latency") == ["firing", "resolved"]
    [fired] = [b for b in webhook.bodies() if b["alert"] == "api.latency"][:1]
    assert fired["summary"].startswith("API p95 latency is ") and "limit 0.05 s" in fired["summary"]


def test_a_backup_older_than_its_limit_fires_and_a_new_one_resolves(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    settings = monitored(tmp_path, webhook)
    queue_jobs(settings, 1, "completed")
    conn = connect(settings.database_path)
    finished = timestamp(START)
    conn.execute(
        "INSERT INTO backup_runs (kind, trigger, started_at, finished_at, result) "
        "VALUES ('backup', 'timer', ?, ?, 'ok')",
        (finished, finished),
    )
    at(settings, 60)
    at(settings, 27 * 60)  # 27 h later: over backup.max_age_hours (26)
    later = timestamp(START + timedelta(hours=27, minutes=1))
    conn.execute(
        "INSERT INTO backup_runs (kind, trigger, started_at, finished_at, result) "
        "VALUES ('backup', 'manual', ?, ?, 'ok')",
        (later, later),
    )
    for minute in range(2, 9):
        at(settings, 27 * 60 + minute)
    assert events(webhook, "backup.stale") == ["firing", "resolved"]
