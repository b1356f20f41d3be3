"""``/metrics`` from the real gunicorn: two workers' counts added up on the loopback listener."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.system.processes import environment, free_port, run, start, stop, wait_for
from tests.system.test_auth_gunicorn import children

pytestmark = pytest.mark.system
HEALTHZ = ("GET", "/healthz", "200")


def counts(text: str, name: str) -> dict[tuple[str, str, str], float]:
    """``name``'s samples from a scrape, by (method, route, status)."""
    return {
        (s.labels["method"], s.labels["route"], s.labels.get("status", "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def healthz_served_by(folder: Path, pid: int) -> float:
    """How many /healthz requests worker ``pid`` counted, from its own file."""
    files = [str(path) for path in folder.glob(f"counter_{pid}.db")]
    metrics = MultiProcessCollector.merge(files) if files else []
    return sum(
        s.value
        for metric in metrics
        for s in metric.samples
        if s.name == "editorial_assistant_http_requests_total" and s.labels["route"] == "/healthz"
    )


def test_a_scrape_adds_up_both_workers_counts_and_survives_a_worker_dying(tmp_path: Path) -> None:
    port, metrics_port, log = free_port(), free_port(), tmp_path / "api.log"
    env = environment(tmp_path, EA_METRICS_LISTEN=f"127.0.0.1:{metrics_port}")
    assert run(["migrate"], env).returncode == 0
    base, scrape = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}/metrics"
    folder = tmp_path / "data" / "run" / "metrics"
    api = start(["api", "--port", str(port), "--workers", "2"], env, log)
    try:
        wait_for(lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, "api", log)
        workers = wait_for(lambda: len(children(api.pid)) == 2 and children(api.pid), "workers")
        made = 0
        with ThreadPoolExecutor(max_workers=8) as pool:
            while not all(healthz_served_by(folder, pid) for pid in workers):
                answers = list(pool.map(lambda _: httpx.get(f"{base}/healthz"), range(16)))
                assert all(answer.status_code == 200 for answer in answers)
                made += len(answers)
                assert made < 2000, "one worker never served a request"
        text = httpx.get(scrape, timeout=10).text
        assert counts(text, "editorial_assistant_http_requests_total")[HEALTHZ] == made
        durations = counts(text, "editorial_assistant_http_request_duration_seconds_count")
        assert durations[("GET", "/healthz", "")] == made
        assert "editorial_assistant_queue_depth 0.0" in text
        assert 'editorial_assistant_jobs{status="completed"} 0.0' in text
        # the API's own port has no /metrics; the listener serves nothing else
        on_api = httpx.get(f"{base}/metrics")
        assert on_api.status_code == 404 and "editorial_assistant_" not in on_api.text
        assert httpx.get(f"http://127.0.0.1:{metrics_port}/").status_code == 404
        # a worker killed outright: gunicorn replaces it, and what it counted stays counted
        os.kill(workers[0], signal.SIGKILL)
        wait_for(lambda: len(set(children(api.pid)) - set(workers)) == 1, "a new worker", log)
        wait_for(lambda: not (folder / f"gauge_livesum_{workers[0]}.db").exists(), "cleanup")
        text = httpx.get(scrape, timeout=10).text
        assert counts(text, "editorial_assistant_http_requests_total")[HEALTHZ] == made
        assert "editorial_assistant_http_requests_in_progress 0.0" in text
    finally:
        assert stop(api) == 0, log.read_text(errors="replace")[-2000:]


def test_the_database_gauges_come_from_the_rows(tmp_path: Path) -> None:
    host = "[::1]" if ipv6_loopback() else "127.0.0.1"
    metrics_port = free_port()
    env = environment(tmp_path, EA_METRICS_LISTEN=f"{host}:{metrics_port}")
    assert run(["migrate"], env).returncode == 0
    with sqlite3.connect(tmp_path / "data" / "editorial-assistant.db") as conn:
        conn.execute(
            "INSERT INTO backup_runs (kind, started_at, finished_at, result) "
            "VALUES ('drill', '2026-01-01T00:00:00.000+00:00', "
            "'2026-01-01T00:05:00.000+00:00', 'failed')"
        )
    port, log = free_port(), tmp_path / "serve.log"
    server = start(["serve", "--port", str(port)], env, log)
    try:
        text = wait_for(lambda: httpx.get(f"http://{host}:{metrics_port}/metrics").text, "scrape")
        assert 'editorial_assistant_restore_drill_last_result{result="failed"} 1.0' in text
        assert "editorial_assistant_database_up 1.0" in text
    finally:
        stop(server)


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_a_listen_address_off_loopback_is_refused_at_start(tmp_path: Path) -> None:
    env = environment(tmp_path, EA_METRICS_LISTEN="0.0.0.0:9464")
    refused = run(["api", "--port", str(free_port())], env)
    assert refused.returncode == 2
    assert "metrics.listen = '0.0.0.0:9464'" in refused.stderr
    assert "loopback" in refused.stderr


def test_a_taken_metrics_port_does_not_stop_the_api(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = environment(tmp_path, EA_METRICS_LISTEN=f"127.0.0.1:{taken.getsockname()[1]}")
        assert run(["migrate"], env).returncode == 0
        port, log = free_port(), tmp_path / "api.log"
        api = start(["api", "--port", str(port), "--workers", "1"], env, log)
        try:
            ready = lambda: httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200  # noqa: E731
            wait_for(ready, "api", log)
            assert "metrics: cannot listen on" in log.read_text()
        finally:
            assert stop(api) == 0
