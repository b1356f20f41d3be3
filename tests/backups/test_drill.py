"""The restore drill restores each copy to scratch space and proves it, with the real restic and
the real Litestream; a failure is a ``failed`` drill run and one alert, a pass resolves it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from editorial_assistant.backups.commands import backup
from editorial_assistant.backups.drill import run_drill
from editorial_assistant.backups.health import backup_status
from editorial_assistant.backups.restic import init_repository
from editorial_assistant.backups.service import run_backup
from editorial_assistant.config import Settings
from editorial_assistant.db import connect, utcnow
from tests.backups import backup_settings, make_jobs
from tests.backups.test_litestream import Replicator, in_sync, needs_litestream, wait_until
from tests.backups.test_litestream import replicated_settings as litestream_settings
from tests.fakes.receivers import WebhookReceiver


def drill(settings: Settings) -> dict:  # type: ignore[type-arg]
    return run_drill(settings, connect(settings.database_path), trigger="timer", clock=utcnow)


def backed_up(tmp_path: Path, **env: str) -> Settings:
    settings = backup_settings(tmp_path, **env)
    make_jobs(settings, 3)
    run = run_backup(settings, connect(settings.database_path), trigger="timer", now=utcnow())
    assert run["result"] == "ok", run
    return settings


def test_the_restic_copy_is_restored_and_proven_but_no_replica_is_a_warning(
    tmp_path: Path,
) -> None:
    settings = backed_up(tmp_path)
    run = drill(settings)
    assert run["kind"] == "drill" and run["result"] == "warning", run
    restic, litestream = run["details"]["restic"], run["details"]["litestream"]
    assert restic["outcome"] == "ok" and restic["counts"]["jobs"] == 3
    assert restic["files_compared"] == 3 and restic["files_missing_on_disk"] == 0
    assert restic["said"].startswith("restic snapshot ")
    assert litestream["outcome"] == "skipped" and "litestream_replica_url" in litestream["said"]
    assert run["error"] == f"litestream: {litestream['said']}"
    assert not list(settings.data_dir.glob("*drill*"))  # scratch space is gone


def test_a_caption_file_that_differs_from_restic_fails_the_drill_and_alerts_once(
    tmp_path: Path,
) -> None:
    webhook = WebhookReceiver()
    try:
        settings = backed_up(tmp_path, EA_ALERTS_WEBHOOK_URL=webhook.url)
        [changed, *_] = sorted((settings.data_dir / "transcripts").rglob("*.txt"))
        original = changed.read_bytes()
        changed.write_bytes(original.replace(b"-->", b"->", 1))
        first, second = drill(settings), drill(settings)
        assert first["result"] == second["result"] == "failed"
        assert f"{changed} differs from its copy in restic" in first["error"]
        assert [(b["alert"], b["status"]) for b in webhook.bodies()] == [("drill.failed", "firing")]
        assert "differs from its copy in restic" in webhook.bodies()[0]["summary"]

        changed.write_bytes(original)
        assert drill(settings)["result"] == "warning"  # passed, Litestream not set up
        assert [(b["alert"], b["status"]) for b in webhook.bodies()][1:] == [
            ("drill.failed", "resolved")
        ]
    finally:
        webhook.close()


def test_a_wrong_restic_password_fails_the_drill_with_the_reason(tmp_path: Path) -> None:
    backed_up(tmp_path)
    settings = backup_settings(tmp_path, init=False, EA_RESTIC_PASSWORD="not it")
    run = drill(settings)
    assert run["result"] == "failed" and run["details"]["restic"]["outcome"] == "failed"
    assert "wrong password" in run["error"] and "not it" not in json.dumps(run)
    status = backup_status(connect(settings.database_path), settings=settings, now=utcnow())
    assert any("last restore drill" in problem for problem in status["problems"])


def test_a_damaged_snapshot_in_restic_fails_the_drill(tmp_path: Path) -> None:
    settings = backed_up(tmp_path)
    shutil.rmtree(Path(settings.backup.restic_repository) / "data")  # the packs are gone
    run = drill(settings)
    assert run["result"] == "failed" and run["details"]["restic"]["outcome"] == "failed"
    assert "; restic: restic restore on " in run["error"] and "Fatal" in run["error"]


def test_a_failed_backup_alerts_and_the_next_good_one_resolves_it(tmp_path: Path) -> None:
    webhook = WebhookReceiver()
    try:
        settings = backed_up(tmp_path, EA_ALERTS_WEBHOOK_URL=webhook.url)
        wrong = backup_settings(
            tmp_path, init=False, EA_RESTIC_PASSWORD="not it", EA_ALERTS_WEBHOOK_URL=webhook.url
        )
        conn = connect(settings.database_path)
        assert run_backup(wrong, conn, trigger="timer", now=utcnow())["result"] == "failed"
        assert run_backup(settings, conn, trigger="timer", now=utcnow())["result"] == "ok"
        events = [(b["alert"], b["status"]) for b in webhook.bodies()]
        assert events == [("backup.failed", "firing"), ("backup.failed", "resolved")]
        assert "wrong password" in webhook.bodies()[0]["summary"]
    finally:
        webhook.close()


def test_the_command_prints_each_source_and_exits_by_the_result(tmp_path: Path) -> None:
    settings = backed_up(tmp_path)
    said = CliRunner().invoke(backup, ["drill"], env=settings.environ, obj={"config": None})
    assert said.exit_code == 3, said.output
    assert "passed with warnings" in said.output
    assert "restic     ok" in said.output and "litestream skipped" in said.output
    status = CliRunner().invoke(backup, ["status"], env=settings.environ, obj={"config": None})
    assert "last drill: " in status.output and " passed, " in status.output


@needs_litestream
def test_with_a_replica_and_restic_both_copies_pass(tmp_path: Path) -> None:
    settings = litestream_settings(
        tmp_path, EA_RESTIC_REPOSITORY=str(tmp_path / "repo"), EA_RESTIC_PASSWORD="pw"
    )
    init_repository(settings)
    make_jobs(settings, 2)
    with Replicator(settings) as replicator:
        wait_until(lambda: in_sync(settings, replicator), what="the replica", timeout=20)
        conn = connect(settings.database_path)
        assert run_backup(settings, conn, trigger="timer", now=utcnow())["result"] == "ok"
        run = drill(settings)
    assert run["result"] == "ok", run
    replica = run["details"]["litestream"]
    assert replica["outcome"] == "ok" and replica["counts"]["jobs"] == 3  # 1 + 2


@needs_litestream
def test_a_replica_of_another_database_fails_the_drill(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "ours").mkdir()
    other = litestream_settings(tmp_path / "other", replica=tmp_path / "replica")
    make_jobs(other, 3)
    with Replicator(other) as replicator:
        wait_until(lambda: in_sync(other, replicator), what="the replica", timeout=20)
    settings = litestream_settings(tmp_path / "ours", replica=tmp_path / "replica")
    run = drill(settings)
    assert run["result"] == "failed"
    assert "holds more jobs (4) than the live database (1)" in run["error"]
