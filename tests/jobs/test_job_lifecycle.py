"""A job from upload to outputs, and every editor action on the way, through the real app."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from editorial_assistant.config import Settings
from editorial_assistant.db import connect, utcnow
from editorial_assistant.errors import InvalidTransition
from editorial_assistant.jobs.lifecycle import get_job, transition
from editorial_assistant.llm.client import LLMError, LLMRequest, LLMResult
from editorial_assistant.llm.local import LocalLLMClient
from editorial_assistant.worker import Worker
from tests.conftest import SRT, upload


class ScriptedLLM:
    """The local backend, with a hook that runs before chosen phases (an injected client)."""

    name = "scripted"

    def __init__(
        self, before: Callable[[LLMRequest], LLMResult | None] | None = None, cost: float = 0.0
    ) -> None:
        self.inner, self.before, self.cost, self.calls = LocalLLMClient(), before, cost, []
        self.requests: list[LLMRequest] = []

    def complete(self, request: LLMRequest) -> LLMResult:
        self.calls.append((request.phase, request.tier))
        self.requests.append(request)
        replaced = self.before(request) if self.before else None
        result = replaced or self.inner.complete(request)
        return LLMResult(result.text, f"scripted-t{request.tier}", 10, 20, self.cost, 0.01)


def submit(client: TestClient, name: str = "2WLI1209HD.srt", text: str = SRT, **form: str) -> int:
    response = upload(client, name, text, **form)
    assert response.status_code == 201, response.text
    return int(response.json()["job"]["id"])


def detail(client: TestClient, job_id: int) -> dict:  # type: ignore[type-arg]
    return client.get(f"/api/jobs/{job_id}").json()  # type: ignore[no-any-return]


def phase_status(job: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {phase["name"]: phase["status"] for phase in job["phases"]}


def long_srt(words: int) -> str:
    blocks, sentence = [], "the river carries stories from the north woods to the lake"
    for i in range(words // 11):
        start = i * 4
        blocks.append(
            f"{i + 1}\n00:{start // 60:02d}:{start % 60:02d},000 --> "
            f"00:{(start + 3) // 60:02d}:{(start + 3) % 60:02d},000\n"
            f"- Host Name: {sentence}.\n"
        )
    return "\n".join(blocks)


def test_a_job_runs_every_phase_and_serves_its_outputs(
    client: TestClient, worker: Worker, settings: Settings
) -> None:
    job_id = submit(client)
    assert worker.run(job_id) == "completed"
    job = detail(client, job_id)
    assert job["status"] == "completed" and job["finished_at"]
    assert phase_status(job) == {
        "analyst": "completed",
        "formatter": "completed",
        "seo": "completed",
        "manager": "completed",
        "timestamp": "skipped",
    }
    assert job["outputs"] == [
        "brainstorming.md",
        "formatted_transcript.md",
        "seo.md",
        "qa_review.md",
    ]
    response = client.get(f"/api/jobs/{job_id}/outputs/formatted_transcript.md")
    assert response.headers["content-type"].startswith("text/markdown")
    assert "model: local" in response.text
    assert "**Angela Fitzgerald:**" in response.text
    folder = settings.data_dir / "outputs" / "2WLI1209HD" / str(job_id)
    assert (folder / "manifest.json").is_file() and (folder / "seo.md").is_file()


def test_a_second_run_of_the_same_task_does_nothing(client: TestClient, worker: Worker) -> None:
    job_id = submit(client)
    assert worker.run(job_id) == "completed"
    assert worker.run(job_id) == "skipped"
    assert detail(client, job_id)["attempts"] == 1


def test_timestamps_run_on_request_for_a_short_programme(
    client: TestClient, worker: Worker
) -> None:
    job_id = submit(client, timestamps="true")
    worker.run(job_id)
    job = detail(client, job_id)
    assert phase_status(job)["timestamp"] == "completed"
    assert "timestamps.md" in job["outputs"]


def test_a_paused_job_waits_and_resumes(client: TestClient, worker: Worker) -> None:
    job_id = submit(client)
    assert client.post(f"/api/jobs/{job_id}/pause").json()["status"] == "paused"
    assert worker.run(job_id) == "skipped"
    assert client.post(f"/api/jobs/{job_id}/resume").json()["status"] == "queued"
    assert worker.run(job_id) == "completed"


def test_a_cancelled_job_never_runs(client: TestClient, worker: Worker) -> None:
    job_id = submit(client)
    assert client.post(f"/api/jobs/{job_id}/cancel").json()["status"] == "cancelled"
    assert worker.run(job_id) == "skipped"
    assert detail(client, job_id)["outputs"] == []


def test_cancelling_a_running_job_stops_it_before_the_next_output(
    client: TestClient, worker: Worker
) -> None:
    job_id = submit(client)

    def cancel_during_seo(request: LLMRequest) -> None:
        if request.phase == "seo":
            assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 200

    worker.llm = ScriptedLLM(cancel_during_seo)
    assert worker.run(job_id) == "abandoned"
    job = detail(client, job_id)
    assert job["status"] == "cancelled"
    assert job["outputs"] == ["brainstorming.md", "formatted_transcript.md"]


def test_a_pause_asked_for_mid_phase_takes_effect_after_that_phase(
    client: TestClient, worker: Worker
) -> None:
    job_id = submit(client)

    def pause_during_seo(request: LLMRequest) -> None:
        if request.phase == "seo":
            response = client.post(f"/api/jobs/{job_id}/pause").json()
            assert response["status"] == "running" and response["pause_requested"]

    worker.llm = ScriptedLLM(pause_during_seo)
    assert worker.run(job_id) == "paused"
    job = detail(client, job_id)
    assert job["status"] == "paused" and "seo.md" in job["outputs"]
    assert phase_status(job)["manager"] == "pending"
    client.post(f"/api/jobs/{job_id}/resume")
    worker.llm = ScriptedLLM()
    assert worker.run(job_id) == "completed"
    assert [phase for phase, _ in worker.llm.calls] == ["manager"]


def test_retry_runs_only_what_did_not_complete(client: TestClient, worker: Worker) -> None:
    job_id = submit(client)

    def refuse_seo(request: LLMRequest) -> None:
        if request.phase == "seo":
            raise LLMError("model said no", transient=False)

    worker.llm = ScriptedLLM(refuse_seo)
    assert worker.run(job_id) == "failed"
    job = detail(client, job_id)
    assert job["status"] == "failed" and "model said no" in job["error"]
    assert phase_status(job)["seo"] == "failed"
    assert client.post(f"/api/jobs/{job_id}/retry").json()["status"] == "queued"
    worker.llm = ScriptedLLM()
    assert worker.run(job_id) == "completed"
    assert [phase for phase, _ in worker.llm.calls] == ["seo", "manager"]


def test_a_failed_attempt_escalates_one_tier(
    client: TestClient, worker: Worker, settings: Settings
) -> None:
    job_id = submit(client)

    def fail_cheap_analyst(request: LLMRequest) -> None:
        if request.phase == "analyst" and request.tier == 0:
            raise LLMError("rate limited", transient=True)

    worker.llm = ScriptedLLM(fail_cheap_analyst)
    assert worker.run(job_id) == "completed"
    analyst = detail(client, job_id)["phases"][0]
    assert analyst["tier"] == 1 and "escalated" in analyst["tier_reason"]
    assert analyst["attempts"] == 2
    with connect(settings.database_path) as conn:
        outcomes = conn.execute(
            "SELECT tier, outcome FROM llm_calls WHERE job_id = ? AND "
            "phase = 'analyst' ORDER BY id",
            (job_id,),
        ).fetchall()
    assert [tuple(row) for row in outcomes] == [(0, "error"), (1, "ok")]


def test_retrying_one_phase_keeps_the_previous_output(
    client: TestClient, worker: Worker, settings: Settings
) -> None:
    job_id = submit(client)
    worker.run(job_id)
    response = client.post(f"/api/jobs/{job_id}/phases/seo/retry", json={"tier": 2})
    assert response.status_code == 200 and response.json()["status"] == "queued"
    worker.llm = ScriptedLLM()
    assert worker.run(job_id) == "completed"
    assert worker.llm.calls == [("seo", 2)]
    latest = client.get(f"/api/jobs/{job_id}/outputs/seo.md")
    assert latest.headers["x-output-version"] == "2" and "model: scripted-t2" in latest.text
    first = client.get(f"/api/jobs/{job_id}/outputs/seo.md?version=1")
    assert "model: local" in first.text
    seo = detail(client, job_id)["phases"][2]
    assert seo["tier"] == 2 and "forced" in seo["tier_reason"]
    assert (
        settings.data_dir / "outputs" / "2WLI1209HD" / str(job_id) / "versions" / "seo.v1.md"
    ).is_file()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("phases/nonsense/retry", None),
        ("phases/seo/retry", {"tier": 7}),
    ],
)
def test_a_phase_retry_with_bad_input_changes_nothing(
    client: TestClient, worker: Worker, path: str, body: dict | None
) -> None:  # type: ignore[type-arg]
    job_id = submit(client)
    worker.run(job_id)
    response = client.post(f"/api/jobs/{job_id}/{path}", json=body)
    assert response.status_code == 422
    assert detail(client, job_id)["status"] == "completed"


def test_invalid_transitions_are_refused(
    client: TestClient, worker: Worker, settings: Settings
) -> None:
    job_id = submit(client)
    client.post(f"/api/jobs/{job_id}/cancel")
    response = client.post(f"/api/jobs/{job_id}/resume")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    conn = connect(settings.database_path)
    with pytest.raises(InvalidTransition, match="cannot become completed"):
        transition(
            conn, job=get_job(conn, job_id=job_id), to="completed", now=utcnow(), message="no"
        )


def test_a_truncated_formatter_output_pauses_the_job(client: TestClient, worker: Worker) -> None:
    job_id = submit(client, "9UNP1972HD.srt", long_srt(1200))

    def truncate(request: LLMRequest) -> LLMResult | None:
        if request.phase == "formatter":
            return LLMResult("# Formatted\n\n**Host Name:** the river.", "x")
        return None

    worker.llm = ScriptedLLM(truncate)
    assert worker.run(job_id) == "paused"
    job = detail(client, job_id)
    assert job["status"] == "paused" and "truncated" in job["pause_reason"]
    assert phase_status(job)["formatter"] == "failed"
    assert phase_status(job)["seo"] == "pending"


def test_the_formatter_works_in_chunks_and_joins_them(
    tmp_path, client: TestClient, worker: Worker
) -> None:
    job_id = submit(client, "9UNP1980HD.srt", long_srt(4000))
    worker.llm = ScriptedLLM()
    worker.run(job_id)
    chunks = [tier for phase, tier in worker.llm.calls if phase == "formatter"]
    assert len(chunks) >= 3
    text = client.get(f"/api/jobs/{job_id}/outputs/formatted_transcript.md").text
    assert text.count("# Formatted transcript") == 1


def test_costs_belong_to_exactly_one_job(
    client: TestClient, worker: Worker, settings: Settings
) -> None:
    first, second = submit(client), submit(client, "2WLI1300HD.srt")
    worker.llm = ScriptedLLM(cost=0.25)
    worker.run(first)
    worker.run(second)
    with sqlite3.connect(settings.database_path) as conn:
        for job_id in (first, second):
            calls = conn.execute(
                "SELECT count(*), sum(cost_usd) FROM llm_calls WHERE job_id = ?", (job_id,)
            ).fetchone()
            job = detail(client, job_id)
            assert job["cost_usd"] == pytest.approx(calls[1]) == pytest.approx(0.25 * calls[0])
            assert sum(p["cost_usd"] for p in job["phases"]) == pytest.approx(job["cost_usd"])


def test_the_job_list_filters_searches_and_pages(client: TestClient, worker: Worker) -> None:
    ids = [submit(client, f"2WLI13{i:02d}HD.srt") for i in range(5)]
    worker.run(ids[0])
    page = client.get("/api/jobs?limit=2&offset=1").json()
    assert page["total"] == 5 and [j["id"] for j in page["jobs"]] == ids[3:1:-1]
    assert [j["id"] for j in client.get("/api/jobs?status=completed").json()["jobs"]] == ids[:1]
    assert [j["id"] for j in client.get("/api/jobs?q=1302").json()["jobs"]] == [ids[2]]
    assert client.get("/api/jobs?q=%25").json()["total"] == 0


def test_the_event_timeline_records_each_step(client: TestClient, worker: Worker) -> None:
    job_id = submit(client)
    client.post(f"/api/jobs/{job_id}/pause")
    client.post(f"/api/jobs/{job_id}/resume")
    worker.run(job_id)
    events = client.get(f"/api/jobs/{job_id}/events").json()["events"]
    kinds = [e["kind"] for e in events if not e["kind"].startswith("phase_")]
    assert kinds == ["queued", "paused", "queued", "running", "completed"]
    phases = [(e["kind"], e["data"]["phase"]) for e in events if e["kind"].startswith("phase_")]
    assert phases[:2] == [("phase_running", "analyst"), ("phase_completed", "analyst")]
    assert phases[-1] == ("phase_skipped", "timestamp")
    after = client.get(f"/api/jobs/{job_id}/events?after={events[-2]['id']}").json()["events"]
    assert after == events[-1:]


def test_priority_orders_the_queue(client: TestClient, worker: Worker) -> None:
    low, high = submit(client, priority="0"), submit(client, "2WLI1301HD.srt", priority="9")
    worker.queue.huey.flush()
    worker.queue.enqueue(low, 0)
    worker.queue.enqueue(high, 9)
    assert worker.queue.huey.dequeue().args == (high,)
    assert client.patch(f"/api/jobs/{low}", json={"priority": 50}).json()["priority"] == 50


def test_a_pause_between_formatter_chunks_keeps_the_finished_chunks(
    client: TestClient, worker: Worker
) -> None:
    job_id = submit(client, "9UNP1980HD.srt", long_srt(4000))

    def pause_in_second_chunk(request: LLMRequest) -> None:
        if request.phase == "formatter" and request.context.chunk_index == 1:
            client.post(f"/api/jobs/{job_id}/pause")

    worker.llm = ScriptedLLM(pause_in_second_chunk)
    assert worker.run(job_id) == "paused"
    assert [p for p, _ in worker.llm.calls] == ["analyst", "formatter", "formatter"]
    client.post(f"/api/jobs/{job_id}/resume")
    worker.llm = ScriptedLLM()
    assert worker.run(job_id) == "completed"
    resumed = [r.context.chunk_index for r in worker.llm.requests if r.phase == "formatter"]
    assert resumed and resumed[0] == 2 and resumed == list(range(2, resumed[-1] + 1))
    text = client.get(f"/api/jobs/{job_id}/outputs/formatted_transcript.md").text
    assert text.count("# Formatted transcript") == 1
    assert text.count("the river carries stories") == 4000 // 11
