"""`editorial-assistant restore`: a copy is proven, compared and swapped in, or refused.

Most tests restore a daily snapshot (no Litestream needed), with a recording stand-in for
``systemctl``; test_litestream.py drives the same command against the real Litestream.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from editorial_assistant import migrations
from editorial_assistant.backups.records import list_runs
from editorial_assistant.backups.restore import (
    RestoreRefused,
    Source,
    check_copy,
    database_facts,
    pick_daily,
)
from editorial_assistant.backups.restore_commands import UNITS, Units, restore, run_restore
from editorial_assistant.backups.service import run_backup
from editorial_assistant.backups.snapshot import take_daily_snapshot
from editorial_assistant.config import Settings
from editorial_assistant.db import connect, latest_version, migrate, timestamp, utcnow
from editorial_assistant.errors import AppError
from tests.backups import backup_settings, digests, make_jobs
from tests.conftest import make_settings


def add_jobs(settings: Settings, count: int, *, media: str = "2WLI") -> None:
    """``count`` completed jobs (and one transcript) written with SQL, each changed now."""
    now = timestamp(utcnow())
    conn = connect(settings.database_path)
    try:
        transcript = conn.execute(
            "INSERT INTO transcripts (media_id, original_filename, stored_path, sha256, "
            "size_bytes, format, encoding, word_count, duration_seconds, created_at) "
            "VALUES (?, 'x.srt', 'x.srt', '0', 1, 'srt', 'utf-8', 1, 1.0, ?)",
            (media, now),
        ).lastrowid
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO jobs (transcript_id, media_id, status, created_at, updated_at) "
            "SELECT ?, ? || printf('%04d', i % 10000), 'completed', ?, ? FROM n",
            (count, transcript, media, now, now),
        )
    finally:
        conn.close()


def jobs(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM jobs").fetchone()[0])
    finally:
        conn.close()


class FakeSystemctl:
    """Answers ``systemctl`` for the service's units and records what it was told."""

    def __init__(self, active: Sequence[str] = UNITS, stuck: str = "") -> None:
        self.active, self.stuck = set(active), stuck
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        verb, *units = argv[1:]
        self.calls.append((verb, *units))
        said = {"show": "loaded"}.get(verb, "")
        if verb == "is-active":
            said = "active" if units[0] in self.active else "inactive"
        elif verb == "stop" and units[0] == self.stuck:
            return subprocess.CompletedProcess(argv, 1, "", "Job for … timed out.")
        elif verb in ("stop", "start"):
            (self.active.discard if verb == "stop" else self.active.add)(units[0])
        return subprocess.CompletedProcess(argv, 0, said + "\n", "")

    def told(self, verb: str) -> list[str]:
        return [call[1] for call in self.calls if call[0] == verb]


def restored(settings: Settings, source: Source, **options: Any) -> tuple[int, str]:
    """Run the restore with the stand-in; (exit status, what it printed)."""
    lines: list[str] = []
    units = options.pop("units", Units(run=FakeSystemctl(), manager=settings.data_dir))
    status = run_restore(
        settings,
        source,
        units=units,
        force=options.pop("force", False),
        dry_run=options.pop("dry_run", False),
        echo=lines.append,
        now=options.pop("now", utcnow()),
    )
    return status, "\n".join(lines)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path)
    migrate(settings.database_path)
    add_jobs(settings, 5)
    return settings


def snapshot(settings: Settings, *, days_ago: int = 0) -> Path:
    conn = connect(settings.database_path)
    try:
        when = utcnow() - timedelta(days=days_ago)
        return take_daily_snapshot(conn, folder=settings.snapshot_dir, now=when).path
    finally:
        conn.close()


def test_it_refuses_a_restore_that_would_lose_newer_jobs_unless_forced(settings: Settings) -> None:
    snapshot(settings)
    add_jobs(settings, 3)
    status, said = restored(settings, Source("snapshot", "latest"))
    assert status == 1
    assert "the live database holds 3 jobs, 1 transcripts changed after" in said
    assert "restore would lose them" in said and "hint: Restore a newer copy" in said
    assert jobs(settings.database_path) == 8  # untouched
    [refused] = list_runs(connect(settings.database_path), kind="restore")
    assert refused["result"] == "failed" and refused["details"]["code"] == "restore_refused"

    status, said = restored(settings, Source("snapshot", "latest"), force=True)
    assert status == 0, said
    assert jobs(settings.database_path) == 5
    [kept] = settings.data_dir.glob("replaced-*.db")
    assert jobs(kept) == 8  # the forced-out changes are kept


def test_the_swap_keeps_the_replaced_database_with_its_wal_folded_in(settings: Settings) -> None:
    snapshot(settings)
    # A writer that dies without closing leaves its last transaction in the WAL only.
    crashed = (
        "import os, sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
        "c.execute('PRAGMA wal_autocheckpoint = 0'); "
        "c.execute(\"UPDATE jobs SET status = 'failed' WHERE id = 1\"); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", crashed, str(settings.database_path)], check=True)
    wal = Path(f"{settings.database_path}-wal")
    assert wal.stat().st_size > 0
    status, said = restored(settings, Source("snapshot"), force=True)
    assert status == 0, said
    [kept] = settings.data_dir.glob("replaced-*.db")
    assert not Path(f"{kept}-wal").exists() and not wal.exists()
    conn = sqlite3.connect(f"file:{kept}?mode=ro", uri=True)
    assert conn.execute("SELECT status FROM jobs WHERE id = 1").fetchone()[0] == "failed"
    assert "swapped in; the replaced database is kept as" in said


def test_a_damaged_live_database_is_replaced_and_kept_as_it_was(settings: Settings) -> None:
    snapshot(settings)
    live = settings.database_path
    live.write_bytes(b"\0" * 8192)
    Path(f"{live}-wal").write_bytes(b"junk")
    status, said = restored(settings, Source("snapshot"))
    assert status == 0, said
    assert "the live database is unreadable (file is not a database)" in said
    assert jobs(live) == 5 and database_facts(live).schema == latest_version()
    [kept] = settings.data_dir.glob("replaced-*.db")
    assert kept.read_bytes() == b"\0" * 8192 and Path(f"{kept}-wal").read_bytes() == b"junk"


def test_it_stops_the_units_then_starts_them_again_and_prints_each_step(settings: Settings) -> None:
    snapshot(settings)
    live = settings.database_path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    systemctl = FakeSystemctl(active=UNITS[1:])  # the socket was not running
    units = Units(run=systemctl, manager=settings.data_dir)
    status, said = restored(settings, Source("snapshot"), units=units)
    assert status == 0, said
    assert systemctl.told("stop") == list(UNITS[1:])  # Litestream last
    assert systemctl.told("start") == list(reversed(UNITS[1:]))
    headlines = [line for line in said.splitlines() if line[:1].isdigit()]
    assert [line.split(". ", 1)[1].split(" ")[0] for line in headlines] == [
        "stopping", "fetching", "checking", "comparing", "swapping", "recording", "starting",
    ]  # fmt: skip
    assert "the live database is missing: there is nothing in it to lose" in said
    assert "the replaced database is kept as (there was none)" in said
    [run] = list_runs(connect(live), kind="restore")
    assert run["result"] == "ok" and run["details"]["source"] == "snapshot"
    assert run["snapshot_file"].startswith("daily-") and said.endswith("s")
    [entry] = (
        connect(live)
        .execute(
            "SELECT actor, resource_id, details FROM audit_log "
            "WHERE action = 'config.database_restored'"
        )
        .fetchall()
    )
    assert entry["actor"].startswith("cli:") and entry["resource_id"] == str(run["id"])
    assert '"source": "snapshot"' in entry["details"]


def test_it_leaves_the_service_stopped_when_nothing_usable_is_left(settings: Settings) -> None:
    settings.database_path.unlink()
    systemctl = FakeSystemctl()
    units = Units(run=systemctl, manager=settings.data_dir)
    status, said = restored(settings, Source("snapshot"), units=units)
    assert status == 1
    assert "No daily snapshot" in said and "NOT starting the service" in said
    assert systemctl.told("start") == [] and "NOT restored" in said


def test_a_copy_from_a_newer_version_or_without_a_schema_is_refused(settings: Settings) -> None:
    conn = connect(settings.database_path)
    conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    conn.close()
    snapshot(settings, days_ago=1)
    conn = connect(settings.database_path)
    conn.execute(f"PRAGMA user_version = {latest_version()}")
    conn.close()
    status, said = restored(settings, Source("snapshot"), force=True)
    assert status == 1 and f"The copy has schema {latest_version() + 1}" in said

    empty = settings.data_dir / "empty.db"
    connect(empty).close()  # what a service that opened a lost database anew would leave
    with pytest.raises(RestoreRefused, match="The copy is an empty database") as refused:
        check_copy(empty, print)
    assert "--timestamp" in refused.value.hint


def test_an_older_copy_is_migrated_after_the_swap(settings: Settings) -> None:
    conn = connect(settings.database_path)  # as the previous schema left it
    newest = sorted(Path(migrations.__file__).parent.glob("*.sql"))[-1].read_text()
    for table in re.findall(r"CREATE TABLE (\w+)", newest):
        conn.execute(f"DROP TABLE {table}")
    conn.execute(f"PRAGMA user_version = {latest_version() - 1}")
    conn.close()
    snapshot(settings)
    status, said = restored(settings, Source("snapshot"), force=True)
    assert status == 0, said
    assert f"migrated the copy from schema {latest_version() - 1}" in said
    assert database_facts(settings.database_path).schema == latest_version()


def test_a_dry_run_checks_the_copy_and_changes_nothing(settings: Settings) -> None:
    snapshot(settings)
    before = settings.database_path.read_bytes()
    systemctl = FakeSystemctl()
    status, said = restored(
        settings, Source("snapshot"), dry_run=True, units=Units(run=systemctl, manager=Path("/"))
    )
    assert status == 0 and "dry run: the copy is good" in said
    assert systemctl.calls == [] and settings.database_path.read_bytes() == before
    assert sorted(p.name for p in settings.data_dir.iterdir() if p.name.startswith(".restore"))\
        == []  # fmt: skip


def test_daily_snapshots_are_named_by_their_utc_day(settings: Settings) -> None:
    older, newer = snapshot(settings, days_ago=2), snapshot(settings)
    day = older.name[len("daily-") :][:8]
    assert pick_daily(settings.snapshot_dir, f"{day[:4]}-{day[4:6]}-{day[6:]}") == older
    assert (
        pick_daily(settings.snapshot_dir, "latest")
        == newer
        == pick_daily(settings.snapshot_dir, newer.name)
    )
    with pytest.raises(Exception, match="No daily snapshot from 1999-01-01"):
        pick_daily(settings.snapshot_dir, "1999-01-01")


def test_the_command_asks_first_and_refuses_a_mixed_up_source(settings: Settings) -> None:
    snapshot(settings)
    env = {"EA_CONFIG": str(settings.data_dir.parent / "config.toml")}
    env.update({k: v for k, v in settings.environ.items() if k.startswith("EA_")})
    runner = CliRunner()
    said = runner.invoke(restore, ["--from", "litestream", "2025-01-01"], env=env, obj={})
    assert said.exit_code == 2 and "--from litestream takes --timestamp" in said.output
    said = runner.invoke(restore, ["--from", "snapshot"], env=env, obj={}, input="n\n")
    assert said.exit_code == 1 and "Aborted" in said.output
    said = runner.invoke(restore, ["--from", "snapshot", "--dry-run"], env=env, obj={})
    assert said.exit_code == 0, said.output
    assert "not under systemd: stop `editorial-assistant serve`" not in said.output  # dry run
    said = runner.invoke(restore, ["--from", "snapshot", "latest", "--yes"], env=env, obj={})
    assert said.exit_code == 0, said.output
    assert "not under systemd: stop `editorial-assistant serve`" in said.output


def python_others_can_run() -> tuple[str, str]:
    """An interpreter and PYTHONPATH that still import once the restore became nobody (this one,
    or the system's python3 of this version with our packages when this one is root's own);
    skip when there is none (a package build's private folder)."""
    import pwd
    import sysconfig

    repo, system = str(Path(__file__).resolve().parents[2]), "/usr/bin/python3"
    nobody = pwd.getpwnam("nobody")
    drop = f"import os; os.setgroups([]); os.setgid({nobody.pw_gid}); os.setuid({nobody.pw_uid})"
    load = "import _strptime, importlib.resources as r; r.files('editorial_assistant.migrations')"
    for python, path in ((sys.executable, repo),
                         (system, f"{repo}:{sysconfig.get_paths()['purelib']}")):  # fmt: skip
        probe = [python, "-c", f"{drop}; {load}; import editorial_assistant.backups.restore"]
        env = {"PYTHONPATH": path, "PATH": "/usr/bin:/bin"}
        if (
            Path(python).exists()
            and subprocess.run(probe, env=env, capture_output=True).returncode == 0
        ):
            return python, path
    pytest.skip("Python or this package lives where the nobody user cannot read it")


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A scratch folder other users may enter (pytest's own are root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="ea-restore-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand the data folder to nobody")
def test_a_restore_started_as_root_leaves_nothing_in_the_data_folder_to_root(
    open_tmp: Path,
) -> None:
    tmp_path = open_tmp
    settings = make_settings(tmp_path)
    migrate(settings.database_path)
    add_jobs(settings, 4)
    snapshot(settings)
    settings.database_path.write_bytes(b"gone")
    subprocess.run(["chown", "-R", "nobody:nogroup", str(tmp_path / "data")], check=True)
    python, path = python_others_can_run()
    env = {**settings.environ, "PATH": "/usr/bin:/bin", "PYTHONPATH": path}
    command = "from editorial_assistant.backups.restore_commands import restore; restore()"
    args = ["--from", "snapshot", "--yes"]
    done = subprocess.run([python, "-c", command, *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "recording the restore" in done.stdout and "done in" in done.stdout
    owned = [p for p in settings.data_dir.rglob("*") if p.stat().st_uid == 0]
    assert owned == [] and jobs(settings.database_path) == 4


def test_restic_brings_back_the_database_the_transcripts_and_the_outputs(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path)
    make_jobs(settings, 3)
    files = {f: digests(settings.data_dir / f) for f in ("transcripts", "outputs")}
    conn = connect(settings.database_path)
    made = run_backup(settings, conn, trigger="manual", now=utcnow())
    conn.close()
    assert made["result"] == "ok", made
    for path in (settings.database_path, settings.data_dir / "transcripts"):
        subprocess.run(["rm", "-rf", str(path)], check=True)
    (settings.data_dir / "outputs" / "extra.md").write_text("written after the backup")

    status, said = restored(settings, Source("restic", "latest"))
    assert status == 0, said
    assert jobs(settings.database_path) == 3
    assert digests(settings.data_dir / "transcripts") == files["transcripts"]
    assert files["outputs"].items() <= digests(settings.data_dir / "outputs").items()
    assert "files from restic:" in said and not list(settings.data_dir.glob(".restore-*"))
    [run] = list_runs(connect(settings.database_path), kind="restore")
    assert run["restic_snapshot_id"] and run["details"]["files"]["copied"] > 0


def test_a_restore_is_undone_by_restoring_the_database_it_replaced(settings: Settings) -> None:
    snapshot(settings)
    add_jobs(settings, 2)
    status, said = restored(settings, Source("snapshot"), force=True)
    assert status == 0 and jobs(settings.database_path) == 5
    [kept] = settings.data_dir.glob("replaced-*.db")
    later = utcnow() + timedelta(seconds=1)
    status, said = restored(settings, Source("file", kept.name), now=later)
    assert status == 0, said
    assert jobs(settings.database_path) == 7  # back to before the first restore
    assert len(list(settings.data_dir.glob("replaced-*.db"))) == 2
    assert "nothing in the live database is newer than the copy" in said


def test_a_copy_with_fewer_jobs_than_the_newest_daily_snapshot_is_refused(
    settings: Settings,
) -> None:
    older = snapshot(settings, days_ago=1)
    add_jobs(settings, 3)
    newest = snapshot(settings)
    settings.database_path.unlink()
    day = older.name[len("daily-") :][:8]
    status, said = restored(settings, Source("snapshot", f"{day[:4]}-{day[4:6]}-{day[6:]}"))
    assert status == 1
    assert f"the copy holds 5 jobs, the daily snapshot {newest.name} 8" in said
    assert "made anew after the loss" in said and "--timestamp" in said
    status, said = restored(settings, Source("snapshot", older.name), force=True)
    assert status == 0 and jobs(settings.database_path) == 5


def test_a_unit_that_will_not_stop_ends_the_restore_and_what_stopped_starts_again(
    settings: Settings,
) -> None:
    snapshot(settings)
    systemctl = FakeSystemctl(stuck=UNITS[2])
    with pytest.raises(
        AppError, match=r"systemctl stop editorial-assistant-worker\.service failed"
    ):
        restored(
            settings, Source("snapshot"), units=Units(run=systemctl, manager=settings.data_dir)
        )
    assert systemctl.told("start") == [UNITS[1], UNITS[0]]
    assert jobs(settings.database_path) == 5 and not list(settings.data_dir.glob("replaced-*"))
