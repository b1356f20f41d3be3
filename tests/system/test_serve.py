"""The product as a user runs it: real gunicorn, a real Huey consumer, real HTTP."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.conftest import SRT, corpus_dir
from tests.jobs.test_job_lifecycle import long_srt
from tests.system.processes import (
    admin_key,
    api_client,
    environment,
    free_port,
    job_status,
    run,
    serve,
    start,
    stop,
    wait_for,
)

pytestmark = pytest.mark.system


def sample_files() -> list[tuple[str, bytes]]:
    """Three corpus files when the corpus is here, else generated captions."""
    folder = corpus_dir()
    if folder is None:
        return [
            ("2WLI1209HD.srt", SRT.encode()),
            ("9UNP1972HD.srt", long_srt(3000).encode()),
            ("bucky.txt", b"Speaker 1\nBucky Badger is on another level.\n"),
        ]
    names = [
        "2WLICindysStorySM_ForClaude.txt",
        "6TLB0301.mp4.txt",
        "9UNP1972HD_REV20250804_ForClaude.txt",
    ]
    return [(name, (folder / name).read_bytes()) for name in names]


def test_serve_processes_uploaded_files_to_completion(tmp_path: Path) -> None:
    served = serve(tmp_path)
    base, http, server, log = served.base, served.http, served.process, served.log
    try:
        job_ids = []
        for name, data in sample_files():
            response = http.post(f"{base}/api/transcripts", files={"file": (name, data)})
            assert response.status_code == 201, response.text
            job_ids.append(response.json()["job"]["id"])
        for job_id in job_ids:
            job = wait_for(
                lambda j=job_id: (
                    job_status(http, base, j)["status"] == "completed" and job_status(http, base, j)
                ),
                f"job {job_id} to complete",
                log,
            )
            for name in job["outputs"]:
                text = http.get(f"{base}/api/jobs/{job_id}/outputs/{name}").text
                assert "model: local" in text
        openapi = http.get(f"{base}/openapi.json").json()
        assert "/api/transcripts" in openapi["paths"]
    finally:
        assert stop(server, signal.SIGINT) == 0, log.read_text(errors="replace")[-2000:]


def test_a_job_survives_kill_9_of_its_worker(tmp_path: Path) -> None:
    port, api_log, worker_log = free_port(), tmp_path / "api.log", tmp_path / "worker.log"
    base = f"http://127.0.0.1:{port}"
    env = environment(
        tmp_path,
        EA_LLM_LOCAL_DELAY_SECONDS="0.15",
        EA_PIPELINE_FORMATTER_CHUNK_WORDS="300",
        EA_WORKER_CONCURRENCY="1",
    )
    http = api_client(admin_key(env))
    api = start(["api", "--port", str(port), "--workers", "1"], env, api_log)
    worker = start(["worker"], env, worker_log)
    try:
        wait_for(lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, "api", api_log)
        response = http.post(
            f"{base}/api/transcripts",
            files={"file": ("9UNP1972HD.srt", long_srt(3000).encode())},
            data={"timestamps": "true"},
        )
        job_id = response.json()["job"]["id"]
        wait_for(
            lambda: _phase(http, base, job_id, "formatter") == "running", "formatter", worker_log
        )
        stop(worker, signal.SIGKILL)
        assert job_status(http, base, job_id)["status"] == "running"
        worker = start(["worker"], env, worker_log)
        job = wait_for(
            lambda: (
                job_status(http, base, job_id)["status"] == "completed"
                and job_status(http, base, job_id)
            ),
            "completion after restart",
            worker_log,
        )
        assert job["attempts"] == 2
        _assert_each_output_once(tmp_path / "data", job_id, job["outputs"])
    finally:
        stop(worker)
        stop(api)


def _phase(http: httpx.Client, base: str, job_id: int, name: str) -> str:
    phases = {p["name"]: p["status"] for p in job_status(http, base, job_id)["phases"]}
    return phases[name]


def _assert_each_output_once(data_dir: Path, job_id: int, names: list[str]) -> None:
    assert names == [
        "brainstorming.md",
        "formatted_transcript.md",
        "seo.md",
        "qa_review.md",
        "timestamps.md",
    ]
    with sqlite3.connect(data_dir / "editorial-assistant.db") as conn:
        rows = conn.execute(
            "SELECT name, count(*), max(version) FROM outputs WHERE job_id = ? GROUP BY name",
            (job_id,),
        ).fetchall()
    assert sorted(rows) == sorted((name, 1, 1) for name in names)
    folder = data_dir / "outputs" / "9UNP1972HD" / str(job_id)
    assert sorted(p.name for p in folder.glob("*.md")) == sorted(names)
    assert not (folder / "versions").exists()


def test_sigterm_to_the_worker_puts_its_running_job_back_in_the_queue(tmp_path: Path) -> None:
    env = environment(tmp_path, EA_LLM_LOCAL_DELAY_SECONDS="0.3", EA_WORKER_CONCURRENCY="1")
    assert run(["migrate"], env).returncode == 0
    captions = tmp_path / "2WLI1209HD.srt"
    captions.write_text(SRT, encoding="utf-8")
    assert run(["submit", str(captions)], env).returncode == 0
    log = tmp_path / "worker.log"
    worker = start(["worker"], env, log)
    database = tmp_path / "data" / "editorial-assistant.db"

    def status() -> str:
        with sqlite3.connect(database) as conn:
            return str(conn.execute("SELECT status FROM jobs WHERE id = 1").fetchone()[0])

    wait_for(lambda: status() == "running", "the job to start", log)
    assert stop(worker, signal.SIGTERM) == 0
    assert status() == "queued"


def test_serve_on_openrouter_attributes_each_call_to_its_job(tmp_path: Path) -> None:
    from tests.fakes.openrouter import FakeOpenRouter

    slugs = ("cheap/a", "default/a", "strong/a")
    with FakeOpenRouter(latency=0.05, model_prices={s: (1e-6, 2e-6) for s in slugs}) as fake:
        port, log = free_port(), tmp_path / "serve.log"
        base = f"http://127.0.0.1:{port}"
        env = environment(
            tmp_path,
            EA_OPENROUTER_BASE_URL=fake.base_url,
            EA_OPENROUTER_API_KEY="sk-or-v1-test",
            EA_MODELS_CHEAP=slugs[0],
            EA_MODELS_DEFAULT=slugs[1],
            EA_MODELS_STRONG=slugs[2],
        )
        http = api_client(admin_key(env))
        server = start(["serve", "--port", str(port)], env, log)
        try:
            wait_for(
                lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, "ready", log
            )
            ids = [
                http.post(
                    f"{base}/api/transcripts",
                    files={"file": (f"2WLI{3000 + n}HD.srt", SRT.encode())},
                ).json()["job"]["id"]
                for n in range(6)
            ]
            for job_id in ids:
                wait_for(
                    lambda j=job_id: job_status(http, base, j)["status"] == "completed",
                    f"job {job_id}",
                    log,
                )
            reported = fake.cost_by_job()
            for job_id in ids:
                assert job_status(http, base, job_id)["cost_usd"] == pytest.approx(
                    reported[str(job_id)], abs=1e-9
                )
            costs = http.get(f"{base}/api/costs").json()
            assert costs["spent_usd"] == pytest.approx(fake.total_cost(), abs=1e-6)
        finally:
            assert stop(server, signal.SIGINT) == 0
