"""What ``/metrics`` shows, scraped in process: requests by route, and what the database holds."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from editorial_assistant.app import create_app
from editorial_assistant.config import Settings
from editorial_assistant.db import migrate, timestamp
from editorial_assistant.monitoring.metrics import scrape_registry
from tests.conftest import make_settings

NOW = datetime(2026, 10, 15, 12, 0, tzinfo=timezone.utc)
GEMINI, SONNET, OPUS = (
    "google/gemini-2.5-flash",
    "anthropic/claude-sonnet-4",
    "anthropic/claude-opus-4",
)
METRICS_DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "metrics.md"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(settings: Settings, client: TestClient | None = None) -> Samples:
    """Every sample ``/metrics`` would show, by name and labels."""
    local = client.app.state.metrics.registry if client else None
    text = generate_latest(scrape_registry(settings, local=local, clock=lambda: NOW)).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def test_it_counts_requests_by_method_route_template_and_status(
    settings: Settings, client: TestClient
) -> None:
    for job_id in (1, 2, 3):
        assert client.get(f"/api/jobs/{job_id}").status_code == 404
    assert client.get("/healthz").status_code == 200
    assert client.get("/no/such/page").status_code == 404
    assert client.request("BREW", "/healthz").status_code == 405
    samples = scrape(settings, client)
    requests = "editorial_assistant_http_requests_total"
    assert value(samples, requests, method="GET", route="/api/jobs/{job_id}", status="404") == 3
    assert value(samples, requests, method="GET", route="/healthz", status="200") == 1
    assert value(samples, requests, method="GET", route="(unmatched)", status="404") == 1
    assert value(samples, requests, method="other", route="/healthz", status="405") == 1
    count = "editorial_assistant_http_request_duration_seconds_count"
    assert value(samples, count, method="GET", route="/api/jobs/{job_id}") == 3
    assert value(samples, "editorial_assistant_http_requests_in_progress") == 0


def test_a_body_refused_before_routing_counts_against_its_route(
    settings: Settings, client: TestClient
) -> None:
    too_big = b"x" * (settings.api.max_body_bytes + 1)
    answer = client.post("/api/auth/login", content=too_big, headers={"Content-Type": "text/plain"})
    assert answer.status_code == 413
    samples = scrape(settings, client)
    requests = "editorial_assistant_http_requests_total"
    assert value(samples, requests, method="POST", route="/api/auth/login", status="413") == 1


def test_the_api_itself_does_not_serve_metrics(client: TestClient) -> None:
    client.get("/healthz")
    answer = client.get("/metrics")
    assert answer.status_code == 404
    assert "editorial_assistant_" not in answer.text


def test_the_database_gauges_match_the_rows_written(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, EA_BUDGET_MONTHLY_USD="1.00")
    migrate(settings.database_path)
    with sqlite3.connect(settings.database_path) as conn:
        write_jobs(conn)
        write_phases(conn)
        write_calls(conn)
        write_backup_runs(conn)
    samples = scrape(settings)
    assert value(samples, "editorial_assistant_database_up") == 1
    jobs = {s: value(samples, "editorial_assistant_jobs", status=s) for s in JOB_COUNTS}
    assert jobs == JOB_COUNTS
    assert value(samples, "editorial_assistant_queue_depth") == 2
    assert value(samples, "editorial_assistant_queue_oldest_age_seconds") == 600
    # phases: analyst took 12 s, formatter 90 s; the running seo phase is not counted yet
    phase = "editorial_assistant_phase_duration_seconds"
    assert value(samples, f"{phase}_count", phase="analyst") == 1
    assert value(samples, f"{phase}_sum", phase="formatter") == pytest.approx(90)
    assert value(samples, f"{phase}_bucket", phase="analyst", le="5.0") == 0
    assert value(samples, f"{phase}_bucket", phase="analyst", le="15.0") == 1
    assert not any(labels == frozenset({("phase", "seo")}) for _name, labels in samples)
    # LLM calls (all time): gemini made 3, one timed out; cost and latency by model and tier
    calls, errors = "editorial_assistant_llm_calls_total", "editorial_assistant_llm_errors_total"
    assert value(samples, calls, model=GEMINI, tier="cheap") == 3
    assert value(samples, calls, model=SONNET, tier="default") == 1
    assert value(samples, errors, model=GEMINI, tier="cheap", outcome="timeout") == 1
    assert value(samples, errors, model=OPUS, tier="strong", outcome="http_429") == 1
    cost = "editorial_assistant_llm_cost_usd_total"
    assert value(samples, cost, model=GEMINI, tier="cheap") == pytest.approx(0.51)
    tokens = "editorial_assistant_llm_tokens_total"
    assert value(samples, tokens, model=SONNET, tier="default", kind="completion") == 400
    latency = "editorial_assistant_llm_call_duration_seconds"
    assert value(samples, f"{latency}_bucket", model=GEMINI, tier="cheap", le="2.5") == 2
    assert value(samples, f"{latency}_bucket", model=GEMINI, tier="cheap", le="120.0") == 2
    assert value(samples, f"{latency}_count", model=GEMINI, tier="cheap") == 3
    # the budget counts this month only: 0.01 + 0.05 (the 0.50 call was in September)
    assert value(samples, "editorial_assistant_budget_spent_usd") == pytest.approx(0.06)
    assert value(samples, "editorial_assistant_budget_remaining_usd") == pytest.approx(0.94)
    assert value(samples, "editorial_assistant_budget_monthly_usd") == 1.0
    assert value(samples, "editorial_assistant_budget_spent_ratio") == pytest.approx(0.06)
    # backups: the newest backup failed, the last good one ended 3 h ago; the drill warned
    assert value(samples, "editorial_assistant_backup_last_success_age_seconds") == 3 * 3600
    assert value(samples, "editorial_assistant_backup_last_result", result="failed") == 1
    assert value(samples, "editorial_assistant_backup_last_result", result="ok") == 0
    assert value(samples, "editorial_assistant_restore_drill_last_result", result="warning") == 1
    assert value(samples, "editorial_assistant_restore_drill_last_age_seconds") == 2 * 86400


def test_with_no_backup_and_no_drill_yet_their_ages_are_infinite(settings: Settings) -> None:
    samples = scrape(settings)
    assert value(samples, "editorial_assistant_backup_last_success_age_seconds") == float("inf")
    assert value(samples, "editorial_assistant_restore_drill_last_age_seconds") == float("inf")
    drill = "editorial_assistant_restore_drill_last_result"
    assert [value(samples, drill, result=r) for r in ("ok", "warning", "failed")] == [0, 0, 0]


def test_a_missing_database_shows_as_database_up_0(tmp_path: Path) -> None:
    samples = scrape(make_settings(tmp_path))
    assert value(samples, "editorial_assistant_database_up") == 0
    assert not any(name.startswith("editorial_assistant_jobs") for name, _ in samples)


def test_disk_and_memory_are_read_from_the_system(settings: Settings) -> None:
    samples = scrape(settings)
    size = value(samples, "editorial_assistant_disk_size_bytes")
    used = value(samples, "editorial_assistant_disk_used_bytes")
    available = value(samples, "editorial_assistant_disk_available_bytes")
    assert 0 < used + available <= size
    assert value(samples, "editorial_assistant_disk_used_ratio") == pytest.approx(
        used / (used + available)
    )
    memory = [v for (name, _), v in samples.items() if name.endswith("service_memory_bytes")]
    assert memory and all(v > 1_000_000 for v in memory)
    total = value(samples, "editorial_assistant_host_memory_total_bytes")
    assert 0 < value(samples, "editorial_assistant_host_memory_available_bytes") <= total


def test_every_exported_metric_is_in_the_metrics_reference(
    settings: Settings, client: TestClient
) -> None:
    client.get("/healthz")
    registry = scrape_registry(settings, local=client.app.state.metrics.registry)
    exported = {
        f"{family.name}_total" if family.type == "counter" else family.name
        for family in registry.collect()
    }
    section = METRICS_DOC.read_text(encoding="utf-8").split("## Metrics", 1)[1]
    section = section.split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(editorial_assistant_[a-z_]+)`", section, re.MULTILINE))
    assert not exported - documented, f"not in docs/reference/metrics.md: {exported - documented}"
    assert not documented - exported, f"documented, not exported: {documented - exported}"


def test_the_cli_leaves_prometheus_client_unimported_until_the_api_sets_it_up() -> None:
    """prometheus-client picks in-memory or file-backed values when first imported, so the
    multiprocess folder must be set before; nothing the CLI loads may import it earlier."""
    probe = "import sys, editorial_assistant.cli; print('prometheus_client' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_an_app_built_in_process_counts_in_its_own_registry(settings: Settings) -> None:
    first, second = create_app(settings), create_app(settings)
    with TestClient(first) as client:
        client.get("/healthz")
    with TestClient(second) as client:
        samples = scrape(settings, client)
    assert not any(name == "editorial_assistant_http_requests_total" for name, _ in samples)


JOB_COUNTS = {"queued": 2, "running": 1, "paused": 1, "completed": 1, "failed": 1, "cancelled": 0}


def ago(**delta: float) -> str:
    return timestamp(NOW - timedelta(**delta))


def write_jobs(conn: sqlite3.Connection) -> None:
    statuses = [("queued", 600), ("queued", 60), ("running", 0)]
    statuses += [("paused", 0), ("completed", 0), ("failed", 0)]
    for job_id, (status, waited) in enumerate(statuses, start=1):
        conn.execute(
            "INSERT INTO transcripts (id, media_id, original_filename, stored_path, sha256, "
            "size_bytes, format, encoding, word_count, duration_seconds, created_at) "
            "VALUES (?, '2WLI1209HD', 'a.srt', 'a.srt', ?, 1, 'srt', 'utf-8', 1, 60, ?)",
            (job_id, "0" * 64, ago(days=1)),
        )
        conn.execute(
            "INSERT INTO jobs (id, transcript_id, media_id, status, created_at, queued_at, "
            "updated_at) VALUES (?, ?, '2WLI1209HD', ?, ?, ?, ?)",
            (job_id, job_id, status, ago(days=1), ago(seconds=waited), ago(seconds=0)),
        )


def write_phases(conn: sqlite3.Connection) -> None:
    rows = [
        ("analyst", 1, "completed", ago(seconds=200), ago(seconds=188)),
        ("formatter", 2, "completed", ago(seconds=188), ago(seconds=98)),
        ("seo", 3, "running", ago(seconds=98), None),
    ]
    for name, position, status, started, finished in rows:
        conn.execute(
            "INSERT INTO phases (job_id, name, position, status, started_at, finished_at) "
            "VALUES (5, ?, ?, ?, ?, ?)",
            (name, position, status, started, finished),
        )


def write_calls(conn: sqlite3.Connection) -> None:
    # (when, tier, model, outcome, cost, latency, prompt tokens, completion tokens)
    calls = [
        (ago(days=20), 0, GEMINI, "ok", 0.50, 1.0, 100, 50),  # September: not this month's spend
        (ago(hours=2), 0, GEMINI, "ok", 0.01, 2.0, 100, 50),
        (ago(hours=2), 0, GEMINI, "timeout", 0.0, 180.0, 0, 0),
        (ago(hours=1), 1, SONNET, "ok", 0.05, 40.0, 900, 400),
        (ago(hours=1), 2, OPUS, "http_429", 0.0, 0.5, 0, 0),
    ]
    for at, tier, model, outcome, cost, latency, prompt, completion in calls:
        conn.execute(
            "INSERT INTO llm_calls (job_id, phase, tier, model_requested, model_used, "
            "prompt_tokens, completion_tokens, cost_usd, latency_seconds, outcome, created_at) "
            "VALUES (5, 'analyst', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                tier,
                model,
                model if outcome == "ok" else None,
                prompt,
                completion,
                cost,
                latency,
                outcome,
                at,
            ),
        )


def write_backup_runs(conn: sqlite3.Connection) -> None:
    runs = [
        ("backup", ago(hours=3, minutes=5), ago(hours=3), "ok"),
        ("drill", ago(days=2, minutes=5), ago(days=2), "warning"),
        ("backup", ago(hours=1, minutes=5), ago(hours=1), "failed"),
        ("backup", ago(minutes=1), None, "running"),
    ]
    for kind, started, finished, result in runs:
        conn.execute(
            "INSERT INTO backup_runs (kind, started_at, finished_at, result) VALUES (?, ?, ?, ?)",
            (kind, started, finished, result),
        )
