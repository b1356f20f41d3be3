"""Jobs on the OpenRouter backend against a local OpenRouter-compatible server (no mocks)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from editorial_assistant.config import Settings
from editorial_assistant.db import migrate
from editorial_assistant.worker import Worker
from tests.conftest import SRT, admin_client, make_settings, upload
from tests.fakes.openrouter import FakeOpenRouter, RecordedRequest
from tests.jobs.test_job_lifecycle import long_srt

KEY = "sk-or-v1-test"


SLUGS = ("cheap/a", "cheap/b", "default/a", "strong/a")


def completions(fake: FakeOpenRouter) -> list[RecordedRequest]:
    """The chat-completion calls the server received (not the price-table fetch)."""
    return [r for r in fake.requests if r.path.endswith("/chat/completions")]


@pytest.fixture
def fake() -> Iterator[FakeOpenRouter]:
    prices = {slug: (1e-6, 2e-6) for slug in SLUGS}
    with FakeOpenRouter(hang_seconds=3, model_prices=prices) as server:
        server.retry_after = 0
        yield server


def openrouter_settings(tmp_path: Path, fake: FakeOpenRouter, **env: str) -> Settings:
    defaults = {
        "EA_LLM_BACKEND": "openrouter",
        "EA_OPENROUTER_BASE_URL": fake.base_url,
        "EA_OPENROUTER_API_KEY": KEY,
        "EA_LLM_RETRY_BACKOFF_SECONDS": "0",
        "EA_LLM_TIMEOUT_SECONDS": "1",
        "EA_MODELS_CHEAP": "cheap/a,cheap/b",
        "EA_MODELS_DEFAULT": "default/a",
        "EA_MODELS_STRONG": "strong/a",
    }
    settings = make_settings(tmp_path, **{**defaults, **env})
    migrate(settings.database_path)
    Worker(settings).prepare()  # as at start: fetches the price table from /models
    return settings


@pytest.fixture
def setup(tmp_path: Path, fake: FakeOpenRouter) -> Iterator[tuple[TestClient, Worker]]:
    settings = openrouter_settings(tmp_path, fake)
    with admin_client(settings) as client:
        yield client, Worker(settings)


def submit(client: TestClient, name: str = "2WLI1209HD.srt", text: str = SRT) -> int:
    response = upload(client, name, text)
    assert response.status_code == 201, response.text
    return int(response.json()["job"]["id"])


def calls(settings: Settings, job_id: int) -> list[sqlite3.Row]:
    conn = sqlite3.connect(settings.database_path)
    conn.row_factory = sqlite3.Row
    return conn.execute(
        "SELECT * FROM llm_calls WHERE job_id = ? ORDER BY id", (job_id,)
    ).fetchall()


def test_a_job_runs_on_openrouter_and_records_the_reported_cost(
    setup: tuple[TestClient, Worker], fake: FakeOpenRouter
) -> None:
    client, worker = setup
    job_id = submit(client)
    assert worker.run(job_id) == "completed"
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["cost_usd"] == pytest.approx(fake.cost_by_job()[str(job_id)])
    assert job["cost_usd"] > 0
    assert {p["model"] for p in job["phases"] if p["status"] == "completed"} <= {
        "cheap/a",
        "strong/a",
    }
    first = completions(fake)[0]
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert first.headers["x-title"] and first.headers["http-referer"]
    assert first.body["usage"] == {"include": True}
    text = client.get(f"/api/jobs/{job_id}/outputs/seo.md").text
    assert "model: cheap/a" in text and "prompt: seo@" in text


def test_the_model_actually_used_is_recorded(tmp_path: Path) -> None:
    prices = {slug: (1e-6, 2e-6) for slug in SLUGS}
    with FakeOpenRouter(
        served_model=lambda slug: f"{slug}-2025-01-01", model_prices=prices
    ) as fake:
        settings = openrouter_settings(tmp_path, fake)
        with admin_client(settings) as client:
            job_id = submit(client)
            Worker(settings).run(job_id)
        rows = calls(settings, job_id)
    assert {(r["model_requested"], r["model_used"]) for r in rows} >= {
        ("cheap/a", "cheap/a-2025-01-01")
    }


def test_a_rejected_key_fails_the_phase_without_trying_other_models(
    tmp_path: Path, fake: FakeOpenRouter
) -> None:
    settings = openrouter_settings(tmp_path, fake, EA_OPENROUTER_API_KEY="sk-or-v1-bad")
    with admin_client(settings) as client:
        job_id = submit(client)
        assert Worker(settings).run(job_id) == "failed"
        job = client.get(f"/api/jobs/{job_id}").json()
    assert "OpenRouter rejected the API key" in job["error"]
    assert len(completions(fake)) == 1


def test_a_missing_key_fails_clearly_and_sends_nothing(
    tmp_path: Path, fake: FakeOpenRouter
) -> None:
    settings = openrouter_settings(tmp_path, fake, EA_OPENROUTER_API_KEY="")
    with admin_client(settings) as client:
        job_id = submit(client)
        assert Worker(settings).run(job_id) == "failed"
        assert "No OpenRouter API key" in client.get(f"/api/jobs/{job_id}").json()["error"]
    assert completions(fake) == []


def test_without_a_key_auto_runs_on_the_local_backend(tmp_path: Path, fake: FakeOpenRouter) -> None:
    settings = openrouter_settings(tmp_path, fake, EA_LLM_BACKEND="auto", EA_OPENROUTER_API_KEY="")
    with admin_client(settings) as client:
        job_id = submit(client)
        assert Worker(settings).run(job_id) == "completed"
        assert "model: local" in client.get(f"/api/jobs/{job_id}/outputs/seo.md").text
    assert completions(fake) == []


def test_a_429_is_retried_after_its_retry_after(
    setup: tuple[TestClient, Worker], fake: FakeOpenRouter
) -> None:
    client, worker = setup
    fake.fail_next("429")
    job_id = submit(client)
    assert worker.run(job_id) == "completed"
    assert [r.status for r in completions(fake)[:2]] == [429, 200]
    assert [r["outcome"] for r in calls(worker.settings, job_id)][:2] == ["http_429", "ok"]


def test_repeated_server_errors_move_to_the_fallback_model(
    setup: tuple[TestClient, Worker], fake: FakeOpenRouter
) -> None:
    client, worker = setup
    fake.fail_next("500", "502", "503", model="cheap/a")
    job_id = submit(client)
    assert worker.run(job_id) == "completed"
    analyst = client.get(f"/api/jobs/{job_id}").json()["phases"][0]
    assert analyst["model"] == "cheap/b"
    assert [r.model for r in completions(fake)[:4]] == ["cheap/a"] * 3 + ["cheap/b"]


@pytest.mark.parametrize(
    "failure", ["400", "404", "empty", "malformed", "no_choices", "length", "timeout"]
)
def test_a_failed_model_is_replaced_and_the_failure_recorded(
    setup: tuple[TestClient, Worker], fake: FakeOpenRouter, failure: str
) -> None:
    client, worker = setup
    repeats = 3 if failure == "timeout" else 1
    fake.fail_next(*[failure] * repeats, model="cheap/a")
    job_id = submit(client)
    assert worker.run(job_id) == "completed"
    outcomes = [r["outcome"] for r in calls(worker.settings, job_id)]
    assert outcomes[repeats] == "ok" and all(o != "ok" for o in outcomes[:repeats])
    charged = client.get(f"/api/jobs/{job_id}").json()["cost_usd"]
    assert charged == pytest.approx(fake.cost_by_job()[str(job_id)], abs=1e-12)


def test_when_every_model_of_a_tier_fails_the_phase_escalates(
    setup: tuple[TestClient, Worker], fake: FakeOpenRouter
) -> None:
    client, worker = setup
    fake.always("404", model="cheap/a")
    fake.always("404", model="cheap/b")
    job_id = submit(client)
    assert worker.run(job_id) == "completed"
    analyst = client.get(f"/api/jobs/{job_id}").json()["phases"][0]
    assert analyst["tier"] == 1 and analyst["model"] == "default/a"
    assert "escalated" in analyst["tier_reason"]


def test_a_job_over_its_cap_pauses_before_the_call_is_made(
    tmp_path: Path, fake: FakeOpenRouter
) -> None:
    settings = openrouter_settings(tmp_path, fake, EA_BUDGET_JOB_CAP_USD="0.0001")
    with admin_client(settings) as client:
        job_id = submit(client)
        assert Worker(settings).run(job_id) == "paused"
        job = client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "paused" and job["pause_reason"].startswith("budget:")
    assert "$0.00 cap" in job["pause_reason"] or "cap" in job["pause_reason"]
    assert completions(fake) == []


def test_the_monthly_budget_pauses_jobs_too(tmp_path: Path, fake: FakeOpenRouter) -> None:
    settings = openrouter_settings(tmp_path, fake, EA_BUDGET_MONTHLY_USD="0.0001")
    with admin_client(settings) as client:
        job_id = submit(client)
        assert Worker(settings).run(job_id) == "paused"
        reason = client.get(f"/api/jobs/{job_id}").json()["pause_reason"]
    assert "this month's" in reason and completions(fake) == []


def test_concurrent_jobs_each_pay_exactly_their_own_calls(
    setup: tuple[TestClient, Worker], fake: FakeOpenRouter
) -> None:
    client, worker = setup
    fake.latency = 0.02
    job_ids = [submit(client, f"2WLI{2000 + n}HD.srt") for n in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        assert list(pool.map(worker.run, job_ids)) == ["completed"] * 10
    reported = fake.cost_by_job()
    for job_id in job_ids:
        recorded = client.get(f"/api/jobs/{job_id}").json()["cost_usd"]
        assert recorded == pytest.approx(reported[str(job_id)], abs=1e-9)
    costs = client.get("/api/costs").json()
    assert costs["spent_usd"] == pytest.approx(fake.total_cost(), abs=1e-6)
    assert sum(row["cost_usd"] for row in costs["by_phase"]) == pytest.approx(
        costs["spent_usd"], abs=1e-5
    )


def test_a_half_length_formatter_answer_pauses_the_job_as_truncated(
    setup: tuple[TestClient, Worker], fake: FakeOpenRouter
) -> None:
    client, worker = setup
    fake.always("half")
    job_id = submit(client, "9UNP1972HD.srt", long_srt(1200))
    assert worker.run(job_id) == "paused"
    assert "truncated" in client.get(f"/api/jobs/{job_id}").json()["pause_reason"]


def test_a_long_corpus_programme_goes_through_the_chunked_formatter(
    setup: tuple[TestClient, Worker], fake: FakeOpenRouter, corpus: Path
) -> None:
    client, worker = setup
    path = corpus / "2WLH2024_Livestream_ForClaude.txt"
    job_id = submit(client, path.name, path.read_bytes().decode("utf-8"))
    assert worker.run(job_id) == "completed"
    formatter_calls = [r for r in completions(fake) if r.phase == "formatter"]
    assert len(formatter_calls) >= 5
    job = client.get(f"/api/jobs/{job_id}").json()
    assert "timestamps.md" in job["outputs"]


def test_models_refresh_writes_the_price_table(tmp_path: Path, fake: FakeOpenRouter) -> None:
    from tests.system.processes import environment, run

    env = environment(tmp_path, EA_OPENROUTER_BASE_URL=fake.base_url)
    result = run(["models", "refresh"], env)
    assert result.returncode == 0, result.stderr
    table = (tmp_path / "data" / "models.json").read_text()
    assert '"openai/gpt-4o-mini"' in table


def test_models_refresh_reports_an_unreachable_openrouter(tmp_path: Path) -> None:
    from tests.system.processes import environment, run

    env = environment(tmp_path, EA_OPENROUTER_BASE_URL="http://127.0.0.1:9/api/v1")
    result = run(["models", "refresh"], env)
    assert result.returncode == 1
    assert "Could not read OpenRouter's model list" in result.stderr
    assert "Traceback" not in result.stderr
