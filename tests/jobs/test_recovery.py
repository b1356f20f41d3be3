"""Jobs whose worker died come back; jobs that keep killing workers stop coming back."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from editorial_assistant.config import Settings
from editorial_assistant.db import connect, utcnow
from editorial_assistant.jobs.lifecycle import claim_job
from editorial_assistant.jobs.recovery import recover_stale_jobs, release_jobs_of
from editorial_assistant.worker import Worker
from tests.conftest import SRT, upload


def queued_job(client: TestClient) -> int:
    return int(upload(client, "2WLI1209HD.srt", SRT).json()["job"]["id"])


def status(settings: Settings, job_id: int) -> tuple[str, int, str | None]:
    row = (
        connect(settings.database_path)
        .execute("SELECT status, attempts, error FROM jobs WHERE id = ?", (job_id,))
        .fetchone()
    )
    return row[0], row[1], row[2]


def test_a_job_with_a_stale_heartbeat_is_requeued(client: TestClient, settings: Settings) -> None:
    job_id, conn, start = queued_job(client), connect(settings.database_path), utcnow()
    claim_job(conn, job_id=job_id, worker_id="otherhost:1:abc", now=start)
    assert (
        recover_stale_jobs(
            conn, now=start + timedelta(seconds=30), stale_after_seconds=60, max_attempts=3
        )
        == []
    )
    assert recover_stale_jobs(
        conn, now=start + timedelta(seconds=61), stale_after_seconds=60, max_attempts=3
    ) == [job_id]
    assert status(settings, job_id)[0] == "queued"


def test_a_job_whose_worker_process_is_gone_is_requeued_at_once(
    client: TestClient, settings: Settings
) -> None:
    job_id, conn, now = queued_job(client), connect(settings.database_path), utcnow()
    claim_job(conn, job_id=job_id, worker_id="gone", now=now)
    assert recover_stale_jobs(
        conn,
        now=now,
        stale_after_seconds=60,
        max_attempts=3,
        alive=lambda worker_id: worker_id != "gone",
    ) == [job_id]


def test_a_job_that_keeps_losing_its_worker_is_failed_with_a_reason(
    client: TestClient, settings: Settings
) -> None:
    job_id, conn, now = queued_job(client), connect(settings.database_path), utcnow()
    for _attempt in range(3):
        claim_job(conn, job_id=job_id, worker_id="gone", now=now)
        recover_stale_jobs(
            conn, now=now, stale_after_seconds=60, max_attempts=3, alive=lambda worker_id: False
        )
    state, attempts, error = status(settings, job_id)
    assert (state, attempts) == ("failed", 3)
    assert "stopped responding" in (error or "")


def test_a_stopping_worker_gives_its_jobs_back(
    client: TestClient, worker: Worker, settings: Settings
) -> None:
    job_id = queued_job(client)
    worker.stopping.set()
    assert worker.run(job_id) == "released"
    assert status(settings, job_id)[0] == "queued"
    conn = connect(settings.database_path)
    claim_job(conn, job_id=job_id, worker_id=worker.worker_id, now=utcnow())
    assert release_jobs_of(conn, worker_id=worker.worker_id, now=utcnow(), reason="stopping") == [
        job_id
    ]


def test_graceful_hand_backs_do_not_use_up_a_jobs_attempts(
    client: TestClient, worker: Worker, settings: Settings
) -> None:
    job_id, conn = queued_job(client), connect(settings.database_path)
    for _stop in range(5):  # five deploys in a row: stop, reload, restart...
        claim_job(conn, job_id=job_id, worker_id=worker.worker_id, now=utcnow())
        release_jobs_of(conn, worker_id=worker.worker_id, now=utcnow(), reason="stopping")
        worker.stopping.set()
        assert worker.run(job_id) == "released"
        worker.stopping.clear()
    assert status(settings, job_id)[:2] == ("queued", 0)
    assert worker.run(job_id) == "completed"


def test_worker_start_rebuilds_the_queue_from_the_jobs_table(
    client: TestClient, worker: Worker
) -> None:
    job_id = queued_job(client)
    worker.queue.huey.flush()
    worker.prepare()
    assert [task.args for task in worker.queue.huey.pending()] == [(job_id,)]


def test_recovery_is_scheduled_every_minute(worker: Worker) -> None:
    from datetime import datetime

    periodic = {task.name: task for task in worker.queue.huey._registry.periodic_tasks}
    recovery = periodic["recover_stale_jobs"]
    minutes = [datetime(2026, 1, 1, 12, m) for m in range(0, 60, 7)]
    assert all(recovery.validate_datetime(moment) for moment in minutes)


def test_a_queued_job_without_a_queue_message_is_enqueued_once(
    client: TestClient, worker: Worker
) -> None:
    job_id = queued_job(client)
    worker.queue.huey.flush()
    assert worker.queue.recovery() == [job_id]
    assert worker.queue.recovery() == []
    assert [task.args for task in worker.queue.huey.pending()] == [(job_id,)]
