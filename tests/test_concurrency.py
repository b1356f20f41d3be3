"""Concurrency: requests never share a database connection, and the worker never has more LLM
calls in flight than ``worker.concurrency``, whatever the number of jobs it has in progress.

The worker tests run the real ``editorial-assistant worker`` (a Huey consumer process) against a
fake OpenRouter that counts the calls it is answering and can hold them until the test lets them
go; the API is the real app in process, on the same data folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from editorial_assistant.db import connect, migrate, utcnow
from editorial_assistant.jobs.recovery import recover_stale_jobs
from tests.conftest import SRT, admin_client, make_settings, upload
from tests.fakes.openrouter import CHAT_PATH, FakeOpenRouter, RecordedRequest, Reply
from tests.system.processes import environment, start, stop, wait_for

SLUGS = ("cheap/a", "default/a", "strong/a")


def test_concurrent_uploads_all_succeed(client: TestClient) -> None:
    def submit(n: int) -> int:
        return int(upload(client, f"2WLI{n:04d}HD.srt", SRT).status_code)

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(submit, range(80)))
    assert statuses == [201] * 80
    assert client.get("/api/jobs").json()["total"] == 80


class CountingFake(FakeOpenRouter):
    """The fake OpenRouter, counting chat completions in flight; it can hold them at the door."""

    def __init__(self, **options: Any) -> None:
        super().__init__(model_prices=dict.fromkeys(SLUGS, (1e-9, 1e-9)), **options)
        self.arrivals: list[tuple[int, str]] = []
        self.in_flight = self.most_in_flight = 0
        self._door = threading.Condition()
        self._open, self._passes = True, 0

    def hold(self) -> None:
        """Keep every call that arrives from now on waiting, unanswered."""
        with self._door:
            self._open = False

    def let_go(self) -> None:
        """Answer every call, those held included."""
        with self._door:
            self._open = True
            self._door.notify_all()

    def let_one_go(self) -> None:
        """Answer one of the held calls; keep holding the rest."""
        with self._door:
            self._passes += 1
            self._door.notify_all()

    def answer(self, record: RecordedRequest) -> Reply | None:
        if record.path.split("?", 1)[0] != CHAT_PATH:
            return super().answer(record)
        with self._door:
            self.arrivals.append((int(record.job), record.phase))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self._door.wait_for(lambda: self._open or self._passes > 0, timeout=60)
            if not self._open and self._passes:
                self._passes -= 1
        try:
            return super().answer(record)
        finally:
            with self._door:
                self.in_flight -= 1

    def calls_of(self, job_id: int) -> list[str]:
        """The phases job ``job_id`` has called for, in order."""
        with self._door:
            return [phase for job, phase in self.arrivals if job == job_id]


@dataclass
class Service:
    """The app in process and the worker process, on one data folder."""

    client: TestClient
    database: Path
    worker: subprocess.Popen[bytes]


@contextmanager
def worker_on(tmp_path: Path, fake: CountingFake, **extra: str) -> Iterator[Service]:
    """The real worker process on the fake, and the app in process on the same data folder."""
    env = {
        "EA_LLM_BACKEND": "openrouter",
        "EA_OPENROUTER_BASE_URL": fake.base_url,
        "EA_OPENROUTER_API_KEY": "sk-or-v1-test",
        "EA_MODELS_CHEAP": SLUGS[0],
        "EA_MODELS_DEFAULT": SLUGS[1],
        "EA_MODELS_STRONG": SLUGS[2],
        "EA_LLM_TIMEOUT_SECONDS": "60",
        "EA_WORKER_CONCURRENCY": "2",
        "EA_WORKER_STOP_GRACE_SECONDS": "10",
        **extra,
    }
    settings = make_settings(tmp_path, **env)
    migrate(settings.database_path)
    log = tmp_path / "worker.log"
    worker = start(["worker"], environment(tmp_path, **env), log)
    try:
        wait_for(lambda: "consuming with" in log.read_text(errors="replace"), "the worker", log)
        with admin_client(settings) as client:
            yield Service(client, settings.database_path, worker)
    finally:
        fake.let_go()
        assert stop(worker) == 0, log.read_text(errors="replace")[-3000:]


def submit(client: TestClient, n: int, **form: str) -> int:
    response = upload(client, f"2WLI{n:04d}HD.srt", SRT, **form)
    assert response.status_code == 201, response.text
    return int(response.json()["job"]["id"])


def job(client: TestClient, job_id: int) -> dict[str, Any]:
    return client.get(f"/api/jobs/{job_id}").json()  # type: ignore[no-any-return]


def waiting(client: TestClient, job_id: int) -> bool:
    return job(client, job_id)["waiting_for_slot_since"] is not None


def waiting_ones(client: TestClient, ids: list[int], count: int) -> list[int]:
    """The jobs of ``ids`` that wait for a slot, once ``count`` of them do (the worker's threads
    take jobs in queue order but may reach their first call in any order)."""
    found: list[int] = []

    def enough() -> bool:
        found[:] = [job_id for job_id in ids if waiting(client, job_id)]
        return len(found) == count

    wait_for(enough, f"{count} of jobs {ids} to wait for a slot")
    return found


def all_done(client: TestClient, ids: list[int], status: str = "completed") -> bool:
    return all(job(client, job_id)["status"] == status for job_id in ids)


def test_the_worker_never_has_more_calls_in_flight_than_its_concurrency(tmp_path: Path) -> None:
    with CountingFake(latency=0.05) as fake, worker_on(tmp_path, fake) as service:
        ids = [submit(service.client, n) for n in range(8)]
        wait_for(lambda: all_done(service.client, ids), "every job to complete")
    assert len(fake.arrivals) == 8 * 4
    assert fake.most_in_flight == 2


def test_a_job_waiting_for_a_slot_says_so_and_makes_no_call(tmp_path: Path) -> None:
    with CountingFake() as fake, worker_on(tmp_path, fake) as service:
        client = service.client
        fake.hold()
        ids = [submit(client, n) for n in range(3)]
        [third] = waiting_ones(client, ids, 1)
        assert fake.in_flight == 2 and fake.calls_of(third) == []
        assert job(client, third)["status"] == "running"
        events = client.get(f"/api/jobs/{third}/events").json()["events"]
        assert events[-1]["kind"] == "slot_waiting"
        assert "analyst: waiting for a free LLM call slot" in events[-1]["message"]
        fake.let_go()
        wait_for(lambda: all_done(client, ids), "every job to complete")
        assert job(client, third)["waiting_for_slot_since"] is None
        kinds = [e["kind"] for e in client.get(f"/api/jobs/{third}/events").json()["events"]]
        assert "slot_granted" in kinds
    assert fake.most_in_flight == 2


def test_a_higher_priority_job_submitted_later_gets_its_calls_first(tmp_path: Path) -> None:
    with CountingFake(latency=0.3) as fake, worker_on(tmp_path, fake) as service:
        client = service.client
        fake.hold()
        low = [submit(client, n) for n in range(3)]
        [before] = waiting_ones(client, low, 1)
        urgent = submit(client, 9, priority="5")
        wait_for(lambda: waiting(client, urgent), "the urgent job to wait")
        fake.let_one_go()  # one slot frees: a low-priority job was waiting for it first
        wait_for(lambda: len(fake.arrivals) == 3, "the next call")
        assert fake.arrivals[2] == (urgent, "analyst") and waiting(client, before)
        fake.let_go()
        wait_for(lambda: all_done(client, [*low, urgent]), "every job to complete")
        finished = {job_id: job(client, job_id)["finished_at"] for job_id in [*low, urgent]}
    assert finished[urgent] < finished[before]
    assert fake.most_in_flight == 2


def test_a_job_waiting_for_a_slot_is_kept_alive_and_not_recovered(tmp_path: Path) -> None:
    fake = CountingFake()
    with fake, worker_on(tmp_path, fake, EA_JOBS_HEARTBEAT_SECONDS="0.2") as service:
        client = service.client
        fake.hold()
        ids = [submit(client, n) for n in range(3)]
        [third] = waiting_ones(client, ids, 1)
        since = job(client, third)["waiting_for_slot_since"]
        wait_for(lambda: job(client, third)["heartbeat_at"] > since, "a heartbeat while waiting")
        conn = connect(service.database)
        assert recover_stale_jobs(conn, now=utcnow(), stale_after_seconds=5, max_attempts=3) == []
        assert waiting(client, third)
        fake.let_go()
        wait_for(lambda: all_done(client, ids), "every job to complete")
        assert [job(client, job_id)["attempts"] for job_id in ids] == [1, 1, 1]


def test_a_waiting_job_can_be_paused_cancelled_and_resumed(tmp_path: Path) -> None:
    with CountingFake() as fake, worker_on(tmp_path, fake) as service:
        client = service.client
        fake.hold()
        ids = [submit(client, n) for n in range(4)]
        paused, cancelled = waiting_ones(client, ids, 2)
        running = [job_id for job_id in ids if job_id not in (paused, cancelled)]
        assert client.post(f"/api/jobs/{paused}/pause").status_code == 200
        assert client.post(f"/api/jobs/{cancelled}/cancel").status_code == 200
        wait_for(lambda: job(client, paused)["status"] == "paused", "the pause")
        assert job(client, paused)["pause_reason"] == "Paused by an editor."
        fake.let_go()
        wait_for(lambda: all_done(client, running), "the running jobs to complete")
        assert client.post(f"/api/jobs/{paused}/resume").status_code == 200
        wait_for(lambda: all_done(client, [paused]), "the resumed job to complete")
        assert job(client, cancelled)["status"] == "cancelled"
    assert fake.calls_of(cancelled) == []
    assert fake.calls_of(paused) == ["analyst", "formatter", "seo", "manager"]


def test_stopping_the_worker_gives_waiting_jobs_back_without_counting_an_attempt(
    tmp_path: Path,
) -> None:
    with CountingFake() as fake, worker_on(tmp_path, fake) as service:
        client = service.client
        fake.hold()
        ids = [submit(client, n) for n in range(3)]
        [third] = waiting_ones(client, ids, 1)
        os.killpg(service.worker.pid, signal.SIGINT)  # as `systemctl stop`
        wait_for(lambda: job(client, third)["status"] == "queued", "the waiting job to go back")
        fake.let_go()  # the calls in flight finish within the grace, then their jobs go back
        wait_for(lambda: all_done(client, ids, "queued"), "every job to go back")
        assert [job(client, job_id)["attempts"] for job_id in ids] == [0, 0, 0]
        assert service.worker.wait(60) == 0
    assert fake.calls_of(third) == []
