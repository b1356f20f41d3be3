"""Outputs older than 90 days leave the live disk only after restic proved it holds them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from editorial_assistant.backups.service import archived_outputs, run_backup
from editorial_assistant.config import Settings
from editorial_assistant.db import connect, transaction, utcnow
from editorial_assistant.pipeline.outputs import job_output_dir
from tests.backups import backup_settings, digests, make_jobs, need_restic, restic, snapshots

LATER = timedelta(days=91)


def folders(settings: Settings, ids: list[int]) -> dict[int, Path]:
    conn = connect(settings.database_path)
    rows = conn.execute(
        f"SELECT id, media_id FROM jobs WHERE id IN ({','.join('?' * len(ids))})", ids
    ).fetchall()
    return {row[0]: job_output_dir(settings.data_dir, row[1], row[0]) for row in rows}


def test_old_outputs_leave_the_disk_once_restic_gave_them_back(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path)
    old, recent = make_jobs(settings, 3), make_jobs(settings, 1)
    conn = connect(settings.database_path)
    with transaction(conn):  # the recent job was retried today: it stays
        conn.execute(
            "UPDATE outputs SET created_at = ? WHERE job_id = ?",
            ((utcnow() + LATER).isoformat(timespec="milliseconds"), recent[0]),
        )
    where = folders(settings, old + recent)
    before = {job: digests(folder) for job, folder in where.items()}

    run = run_backup(settings, conn, trigger="timer", now=utcnow() + LATER)
    assert run["result"] == "ok", run
    archived = run["details"]["archived"]
    assert archived["jobs"] == old and archived["files"] == sum(len(before[j]) - 1 for j in old)
    for job in old:  # only the manifest and the note of where the files went remain
        assert sorted(digests(where[job])) == ["archived.json", "manifest.json"]
        [entry] = archived_outputs(settings.data_dir, media_id=where[job].parent.name, job_id=job)
        assert entry["restic_snapshot_id"] == archived["snapshot_id"]
        assert {f["path"]: f["sha256"] for f in entry["files"]} == {
            name: digest for name, digest in before[job].items() if name != "manifest.json"
        }
    assert digests(where[recent[0]]) == before[recent[0]]

    # The archive snapshot is kept by the retention policy and gives back every byte.
    [kept] = snapshots(settings, "--tag", "archive")
    assert kept["short_id"] == archived["snapshot_id"]
    restic(settings, "restore", kept["short_id"], "--target", str(tmp_path / "back"))
    for job in old:
        back = tmp_path / "back" / where[job].relative_to("/")
        assert digests(back) == before[job]

    again = run_backup(settings, conn, trigger="timer", now=utcnow() + LATER)
    assert again["result"] == "ok" and again["details"]["archived"]["jobs"] == []


def test_outputs_stay_when_what_restic_gives_back_differs(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path)
    [job] = make_jobs(settings, 1)
    folder = folders(settings, [job])[job]
    before = digests(folder)
    # The real restic, except that a restore hands back one file changed.
    liar = tmp_path / "restic-liar"
    liar.write_text(
        f'#!/bin/sh\n"{need_restic()}" "$@" || exit $?\n'
        'if [ "$3" = restore ]; then\n'
        '  find "$6" -name seo.md -exec sh -c \'echo tampered >> "$1"\' _ {} \\;\nfi\n',
        encoding="utf-8",
    )
    liar.chmod(0o755)
    conn = connect(settings.database_path)
    run = run_backup(settings, conn, trigger="timer", now=utcnow() + LATER, binary=str(liar))
    assert run["result"] == "warning", run
    assert f"outputs of jobs [{job}] did not come back intact" in run["error"]
    assert digests(folder) == before and run["details"]["archived"]["jobs"] == []


def test_outputs_stay_when_restic_fails(tmp_path: Path) -> None:
    backup_settings(tmp_path)
    settings = backup_settings(tmp_path, init=False, EA_RESTIC_PASSWORD="wrong")
    [job] = make_jobs(settings, 1)
    before = digests(folders(settings, [job])[job])
    run = run_backup(
        settings, connect(settings.database_path), trigger="timer", now=utcnow() + LATER
    )
    assert run["result"] == "failed"
    assert digests(folders(settings, [job])[job]) == before


def test_nothing_is_archived_when_archival_is_off(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, EA_BACKUP_OUTPUTS_ARCHIVE_AFTER_DAYS="0")
    [job] = make_jobs(settings, 1)
    before = digests(folders(settings, [job])[job])
    run = run_backup(
        settings, connect(settings.database_path), trigger="timer", now=utcnow() + LATER * 10
    )
    assert run["result"] == "ok" and "archived" not in run["details"]
    assert digests(folders(settings, [job])[job]) == before


def test_forget_applies_the_policy_to_daily_snapshots_only(tmp_path: Path) -> None:
    settings = backup_settings(
        tmp_path,
        EA_BACKUP_RESTIC_KEEP_DAILY="1",
        EA_BACKUP_RESTIC_KEEP_WEEKLY="0",
        EA_BACKUP_RESTIC_KEEP_MONTHLY="0",
    )
    make_jobs(settings, 1)
    conn = connect(settings.database_path)
    run_backup(settings, conn, trigger="timer", now=utcnow() + LATER)  # archives the job
    make_jobs(settings, 1)
    run_backup(settings, conn, trigger="timer", now=utcnow())
    tags = [sorted({"daily", "archive"} & set(s["tags"])) for s in snapshots(settings)]
    assert sorted(tags) == [["archive"], ["daily"]]
    assert json.loads(restic(settings, "snapshots", "--json", "--tag", "daily").stdout)
