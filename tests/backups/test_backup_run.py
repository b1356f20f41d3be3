"""A whole backup run against a real restic repository: what it records, what comes back from it,
and how each failure shows (a ``failed`` row with restic's words, never a silent success)."""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import signal
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from editorial_assistant.backups.health import backup_status
from editorial_assistant.backups.lock import exclusive
from editorial_assistant.backups.records import list_runs, start_run
from editorial_assistant.backups.service import MESSAGE_IDS, run_backup
from editorial_assistant.db import connect, utcnow
from editorial_assistant.errors import Conflict
from tests.backups import PASSWORD, backup_settings, digests, make_jobs, restic, snapshots


def test_a_run_archives_the_snapshot_transcripts_and_outputs_byte_for_byte(
    tmp_path: Path,
) -> None:
    settings = backup_settings(tmp_path)
    make_jobs(settings, 6)
    conn = connect(settings.database_path)
    first = run_backup(settings, conn, trigger="timer", now=utcnow())
    assert first["result"] == "ok", first
    assert first["trigger"] == "timer" and first["finished_at"] >= first["started_at"]
    assert first["snapshot_file"].startswith("daily-") and first["snapshot_bytes"] > 0
    assert first["restic_snapshot_id"] and first["bytes_added"] > 0 and first["error"] is None
    steps = first["details"]["seconds"]
    assert set(steps) == {
        "snapshot",
        "restic_open",
        "restic_backup",
        "restic_check",
        "restic_forget",
        "archive_outputs",
    }

    restored = tmp_path / "restored"
    restic(settings, "restore", first["restic_snapshot_id"], "--target", str(restored))
    inside = restored / settings.data_dir.relative_to("/")
    for folder in ("transcripts", "outputs"):
        assert digests(inside / folder) == digests(settings.data_dir / folder) != {}
    copy = inside / "snapshots" / first["snapshot_file"]
    manifest = json.loads(copy.with_name(copy.name.replace(".db.gz", ".json")).read_text())
    (tmp_path / "restored.db").write_bytes(gzip.decompress(copy.read_bytes()))
    check = sqlite3.connect(tmp_path / "restored.db")
    assert (
        check.execute("SELECT count(*) FROM jobs").fetchone()[0]
        == 6
        == manifest["row_counts"]["jobs"]
    )

    [made] = snapshots(settings)
    assert made["short_id"] == first["restic_snapshot_id"]
    app, schema, host = manifest["app_version"], manifest["schema_version"], manifest["host"]
    tags = {
        "editorial-assistant",
        "daily",
        f"app-version={app}",
        f"schema={schema}",
        f"host={host}",
    }
    assert tags <= set(made["tags"])

    second = run_backup(settings, conn, trigger="manual", now=utcnow())
    assert second["result"] == "ok"
    # Only the new daily snapshot (and its manifest) is new: a small fraction of the first.
    assert second["bytes_added"] < first["bytes_added"] / 3
    print(f"\nbytes added: first run {first['bytes_added']}, second {second['bytes_added']}")


def test_a_wrong_password_fails_the_run_with_the_reason(tmp_path: Path) -> None:
    backup_settings(tmp_path)
    settings = backup_settings(tmp_path, init=False, EA_RESTIC_PASSWORD="not it")
    run = run_backup(settings, connect(settings.database_path), trigger="timer", now=utcnow())
    assert run["result"] == "failed" and run["details"]["code"] == "restic_wrong_password"
    assert "wrong password" in run["error"] and "not it" not in json.dumps(run)
    assert run["snapshot_file"]  # the local snapshot was still made
    assert run["restic_snapshot_id"] is None


def test_a_missing_repository_fails_and_no_new_one_is_made(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, init=False)
    run = run_backup(settings, connect(settings.database_path), trigger="timer", now=utcnow())
    assert run["result"] == "failed" and run["details"]["code"] == "restic_no_repository"
    assert "backup init" in run["details"]["hint"]
    assert not (tmp_path / "repo").exists()


def test_an_unreachable_repository_fails(tmp_path: Path) -> None:
    settings = backup_settings(
        tmp_path, init=False, EA_RESTIC_REPOSITORY="s3:http://127.0.0.1:9/bucket/station"
    )
    run = run_backup(settings, connect(settings.database_path), trigger="timer", now=utcnow())
    assert run["result"] == "failed" and run["details"]["code"] == "restic_unreachable"
    assert "connection refused" in run["error"]


def test_a_corrupted_pack_fails_the_check_and_nothing_is_pruned(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, EA_BACKUP_CHECK_ROTATION_DAYS="1")
    make_jobs(settings, 2)
    conn = connect(settings.database_path)
    assert run_backup(settings, conn, trigger="timer", now=utcnow())["result"] == "ok"
    pack = max((tmp_path / "repo" / "data").rglob("*"), key=lambda p: p.stat().st_size)
    pack.chmod(0o600)
    damaged = bytearray(pack.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    pack.write_bytes(bytes(damaged))

    run = run_backup(settings, conn, trigger="timer", now=utcnow())
    assert run["result"] == "failed", run
    assert run["details"]["code"] == "restic_repository_damaged"
    assert "restic check" in run["error"] and "do not prune" in run["details"]["hint"]
    assert "restic_forget" not in run["details"]["seconds"]  # never prune a damaged repository
    assert run["details"]["check_subset"] == "1/1"


def test_without_a_password_the_run_fails_rather_than_skip_the_archive(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, init=False, EA_RESTIC_PASSWORD="")
    run = run_backup(settings, connect(settings.database_path), trigger="timer", now=utcnow())
    assert run["result"] == "failed" and run["details"]["code"] == "restic_not_configured"


def test_without_a_repository_only_the_local_snapshot_is_made(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, init=False, EA_RESTIC_REPOSITORY="")
    run = run_backup(settings, connect(settings.database_path), trigger="timer", now=utcnow())
    assert run["result"] == "ok" and "not configured" in run["details"]["restic"]
    assert (settings.snapshot_dir / run["snapshot_file"]).is_file()


def test_a_repository_that_changed_under_us_is_a_warning(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path)
    conn = connect(settings.database_path)
    assert run_backup(settings, conn, trigger="timer", now=utcnow())["result"] == "ok"
    shutil.rmtree(tmp_path / "repo")  # the disk was not mounted, and someone ran init
    restic(settings, "init")
    run = run_backup(settings, conn, trigger="timer", now=utcnow())
    assert run["result"] == "warning" and "repository changed" in run["error"]


def test_a_second_run_waits_for_the_first_then_refuses(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, init=False)
    with exclusive(settings.data_dir), pytest.raises(Conflict) as refused:
        run_backup(settings, connect(settings.database_path), trigger="manual", now=utcnow())
    assert refused.value.code == "backup_running"


def test_a_run_that_died_is_recorded_as_failed_by_the_next(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, init=False, EA_RESTIC_REPOSITORY="")
    conn = connect(settings.database_path)
    died = start_run(conn, kind="backup", trigger="timer", now=utcnow() - timedelta(days=1))
    run_backup(settings, conn, trigger="timer", now=utcnow())
    [before] = [run for run in list_runs(conn, kind="backup") if run["id"] == died]
    assert before["result"] == "failed" and "never finished" in before["error"]


def test_an_interrupted_run_is_recorded_and_the_interruption_goes_on(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path)
    conn = connect(settings.database_path)
    stuck = tmp_path / "restic-stuck"
    stuck.write_text("#!/bin/sh\nexec sleep 30\n", encoding="utf-8")
    stuck.chmod(0o755)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))  # Ctrl-C
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        run_backup(settings, conn, trigger="timer", now=utcnow(), binary=str(stuck))
    [run] = list_runs(conn, kind="backup")
    assert run["result"] == "failed" and run["error"] == "interrupted"


def test_each_result_is_logged_with_its_message_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = backup_settings(tmp_path / "good", init=False, EA_RESTIC_REPOSITORY="")
    bad = backup_settings(tmp_path / "bad", init=False)
    with caplog.at_level(logging.INFO, logger="editorial_assistant.backups"):
        run_backup(good, connect(good.database_path), trigger="timer", now=utcnow())
        run_backup(bad, connect(bad.database_path), trigger="timer", now=utcnow())
    ours = [r for r in caplog.records if getattr(r, "message_id", None) and "service" in r.name]
    assert [(r.levelname, r.message_id) for r in ours] == [  # type: ignore[attr-defined]
        ("INFO", MESSAGE_IDS["ok"]),
        ("ERROR", MESSAGE_IDS["failed"]),
    ]
    assert "backup run 1 failed: restic cat config" in ours[1].getMessage()
    assert PASSWORD not in caplog.text


def test_status_names_each_problem_a_3_am_engineer_must_know(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, init=False, EA_RESTIC_REPOSITORY="")
    conn, now = connect(settings.database_path), utcnow()
    assert backup_status(conn, settings=settings, now=now)["problems"] == [
        "no backup has succeeded yet",
        "no restic repository is set up: only local snapshots are kept",
    ]
    run_backup(settings, conn, trigger="timer", now=now)
    fresh = backup_status(conn, settings=settings, now=now + timedelta(hours=1))
    assert fresh["last_good"]["id"] == 1 and 0.9 < fresh["last_good_age_hours"] < 1.1
    late = backup_status(conn, settings=settings, now=now + timedelta(hours=27))
    assert late["problems"][0].startswith("the last good backup is 27.0 h old (limit 26 h)")
    start_run(conn, kind="backup", trigger="timer", now=now)  # and then the process died
    died = backup_status(conn, settings=settings, now=now)
    assert "backup run 2 started but never finished" in died["problems"]
    assert not died["healthy"] and not died["running"]
