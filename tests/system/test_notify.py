"""What the API and the worker tell systemd, read off a real notify socket as systemd would.

Each process runs for real with ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC`` pointing at a datagram
socket the test owns. The booted-systemd tests (test_package.py) check the same contract end to
end; these show the details: who says READY and when, and that pings stop when work stops.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from editorial_assistant.worker import Liveness
from tests.system.processes import environment, free_port, run, start, stop, wait_for

pytestmark = pytest.mark.system


class NotifySocket:
    """A datagram socket collecting every notification a process sends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            with self._lock:
                self.messages.append((time.monotonic(), data.decode()))

    def lines(self, since: float = 0.0) -> list[str]:
        with self._lock:
            return [line for at, text in self.messages if at >= since for line in text.split("\n")]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    listener = NotifySocket(tmp_path / "notify.sock")
    yield listener
    listener.close()


def watched(tmp_path: Path, notify: NotifySocket, watchdog_seconds: float) -> dict[str, str]:
    return environment(
        tmp_path,
        NOTIFY_SOCKET=str(notify.path),
        WATCHDOG_USEC=str(int(watchdog_seconds * 1_000_000)),
    )


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def test_api_pings_the_watchdog_only_while_its_workers_answer(
    tmp_path: Path, notify_socket: NotifySocket
) -> None:
    env = watched(tmp_path, notify_socket, 1.5)
    assert run(["migrate"], env).returncode == 0
    port, log = free_port(), tmp_path / "api.log"
    api = start(["api", "--port", str(port), "--workers", "2"], env, log)
    try:
        wait_for(lambda: "READY=1" in notify_socket.lines(), "gunicorn's READY=1", log)
        wait_for(lambda: "WATCHDOG=1" in notify_socket.lines(), "a first watchdog ping", log)
        assert any(line.startswith("STATUS=serving on http://") for line in notify_socket.lines())

        workers = wait_for(lambda: len(children(api.pid)) == 2 and children(api.pid), "workers")
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)
        try:
            wait_for(
                lambda: any("STATUS=unhealthy" in line for line in notify_socket.lines()),
                "the pinger to notice that nobody answers",
                log,
            )
            quiet_from = time.monotonic()
            time.sleep(1.5)  # one watchdog period: no ping may arrive while nobody answers
            assert "WATCHDOG=1" not in notify_socket.lines(since=quiet_from)
        finally:
            for pid in workers:
                os.kill(pid, signal.SIGCONT)
        resumed = time.monotonic()
        wait_for(lambda: "WATCHDOG=1" in notify_socket.lines(since=resumed), "pings to resume", log)
    finally:
        assert stop(api, signal.SIGTERM) == 0


def ready_worker(tmp_path: Path, notify: NotifySocket) -> tuple[subprocess.Popen[bytes], Path]:
    """A migrated data folder and a worker under a 3 s watchdog that has said READY=1."""
    env = watched(tmp_path, notify, 3)
    assert run(["migrate"], env).returncode == 0
    log = tmp_path / "worker.log"
    worker = start(["worker"], env, log)
    try:
        wait_for(lambda: "READY=1" in notify.lines(), "the worker's READY=1", log)
    except AssertionError:
        stop(worker, signal.SIGKILL)
        raise
    return worker, log


def test_worker_is_ready_only_once_it_consumes_and_says_when_it_stops(
    tmp_path: Path, notify_socket: NotifySocket
) -> None:
    worker, log = ready_worker(tmp_path, notify_socket)
    try:
        first = next(text for _, text in notify_socket.messages if "READY=1" in text)
        assert "WATCHDOG=1" in first  # READY is sent by the same health check that pings
        assert any(line.startswith("STATUS=consuming with") for line in notify_socket.lines())
        pings = time.monotonic()
        wait_for(lambda: "WATCHDOG=1" in notify_socket.lines(since=pings), "a second ping", log)
    finally:
        assert stop(worker, signal.SIGINT) == 0
    assert "STOPPING=1" in notify_socket.lines()


def test_liveness_names_the_thread_that_overran_its_promise() -> None:
    liveness = Liveness()
    release = threading.Event()

    def job(allowance: float) -> None:
        liveness.beat(allowance, "formatter call to model-x")
        release.wait(10)

    quick = threading.Thread(target=job, args=(0.05,), name="Worker-1")
    patient = threading.Thread(target=job, args=(60,), name="Worker-2")
    quick.start(), patient.start()
    try:
        wait_for(lambda: liveness.problem([patient]) is None, "the patient thread's first beat")
        wait_for(lambda: liveness.problem([quick, patient]), "the quick thread to overrun")
        problem = liveness.problem([quick, patient])
        assert problem is not None
        assert problem.startswith("Worker-1 is stuck (formatter call to model-x")
    finally:
        release.set()
        quick.join(), patient.join()
    assert liveness.problem([patient]) == "Worker-2 is not running"
    fresh = threading.Thread(target=lambda: None, name="Worker-3")
    fresh.start()
    fresh.join()
    assert liveness.problem([fresh]) == "Worker-3 is not running"


def test_wait_ready_returns_when_the_api_serves_and_fails_clearly_when_nothing_does(
    tmp_path: Path,
) -> None:
    env = environment(tmp_path)
    socket_path = tmp_path / "api.sock"
    refused = run(["wait-ready", "--timeout", "0.3", "--uds", str(socket_path)], env)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: not ready after 0.3 s: unix:")
    assert "did not answer" in refused.stderr

    assert run(["migrate"], env).returncode == 0
    log = tmp_path / "api.log"
    api = start(["api", "--uds", str(socket_path), "--workers", "1"], env, log)
    try:
        ready = run(["wait-ready", "--timeout", "30", "--uds", str(socket_path)], env)
        assert ready.returncode == 0, ready.stderr
        assert ready.stdout.strip() == f"ready: unix:{socket_path}"
        assert oct(socket_path.stat().st_mode & 0o777) == oct(0o770)
    finally:
        stop(api, signal.SIGTERM)


def test_migrating_a_database_with_data_snapshots_it_first(tmp_path: Path) -> None:
    env = environment(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    database = data / "editorial-assistant.db"
    from editorial_assistant.db import migrations

    first_version, _, first_sql = migrations()[0]
    with sqlite3.connect(database) as conn:
        conn.executescript(first_sql)
        conn.execute(f"PRAGMA user_version = {first_version}")
    result = run(["migrate"], env)
    assert result.returncode == 0, result.stderr
    snapshots = list((data / "snapshots").glob("pre-migrate-*.db"))
    assert len(snapshots) == 1
    with sqlite3.connect(snapshots[0]) as snap:
        assert snap.execute("PRAGMA user_version").fetchone()[0] == first_version
        assert snap.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again = run(["migrate"], env)
    assert again.stdout.strip() == "database is up to date"
    assert len(list((data / "snapshots").glob("pre-migrate-*.db"))) == 1


def test_a_schema_from_a_newer_version_is_refused_with_what_to_do(tmp_path: Path) -> None:
    env = environment(tmp_path)
    assert run(["migrate"], env).returncode == 0
    with sqlite3.connect(tmp_path / "data" / "editorial-assistant.db") as conn:
        conn.execute("PRAGMA user_version = 999")
    for command in (["migrate"], ["worker"]):
        refused = run(command, env)
        assert refused.returncode != 0
        assert "newer version wrote it" in refused.stderr
        assert "snapshots/pre-migrate-" in refused.stderr
        assert "Traceback" not in refused.stderr


def test_worker_reload_re_executes_in_place_and_says_reloading_then_ready(
    tmp_path: Path, notify_socket: NotifySocket
) -> None:
    worker, log = ready_worker(tmp_path, notify_socket)
    try:
        sent = time.monotonic()
        os.kill(worker.pid, signal.SIGHUP)
        wait_for(lambda: "READY=1" in notify_socket.lines(since=sent), "READY=1 again", log)
        after = notify_socket.lines(since=sent)
        assert "RELOADING=1" in after and "STOPPING=1" not in after
        assert after.index("RELOADING=1") < after.index("READY=1")
        assert worker.poll() is None  # the same process, re-executed
    finally:
        assert stop(worker, signal.SIGINT) == 0
    assert "re-executing" in log.read_text()
