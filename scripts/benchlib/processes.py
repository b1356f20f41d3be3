"""Starting and stopping the real processes a scenario measures, and reading their peak memory.

Each scenario gets a fresh data folder, an empty config file (so nothing under /etc is read),
``editorial-assistant migrate``, an admin API key made with ``editorial-assistant api-key
create`` that every request sends, then ``api`` under gunicorn and the Huey ``worker``. The rate
limiter stays on (its write per request is a real cost) with limits no scenario reaches.
Processes run in their own session so one signal reaches a gunicorn master and its workers; they
are stopped by process id, gracefully first.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
READY_DEADLINE_SECONDS = 60
EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception)): (.*)$", re.MULTILINE)
LOGS = ("api", "worker", "minimal")
# The highest count the settings accept: on, and never reached (--set can still override).
UNREACHABLE_LIMIT = "9999999/second"
BENCH_ENV = {
    f"EA_RATE_LIMITS_{group}": UNREACHABLE_LIMIT for group in ("LOGIN", "READ", "WRITE", "UPLOAD")
}


class BenchError(RuntimeError):
    """The benchmark itself broke (a process died, a request failed); not a missed target."""


@dataclass
class Service:
    """One running copy of the product: its data folder, address and processes."""

    root: Path
    tree: Path
    env: dict[str, str]
    base_url: str
    api: subprocess.Popen[bytes]
    api_workers: int
    api_key: str | None = None
    worker: subprocess.Popen[bytes] | None = None
    extra: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        """What every request to the product sends: the scenario's admin key."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    @property
    def database(self) -> Path:
        """The application database file."""
        return Path(self.env["EA_DATA_DIR"]) / "editorial-assistant.db"

    def peak_rss_kib(self) -> dict[str, int]:
        """Peak RSS so far: the API summed over gunicorn master and workers, and the worker."""
        worker = self.worker.pid if self.worker else None
        return {"api": tree_peak_rss_kib(self.api.pid), "worker": tree_peak_rss_kib(worker)}

    def exceptions(self) -> dict[str, dict[str, int]]:
        """Exceptions each process logged so far, by log name (empty logs left out)."""
        found = {name: exceptions_in(self.root / f"{name}.log") for name in LOGS}
        return {name: counts for name, counts in found.items() if counts}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(root: Path, overrides: dict[str, str]) -> dict[str, str]:
    """The process environment: ours minus any EA_* variable, plus a data folder, config and
    the unreachable rate limits; ``overrides`` win over all of it."""
    config = root / "config.toml"
    config.write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EA_")}
    paths = {"EA_DATA_DIR": str(root / "data"), "EA_CONFIG": str(config)}
    return {**env, **paths, **BENCH_ENV, **overrides}


def launch(
    args: list[str], env: dict[str, str], log: Path, cwd: Path = REPO
) -> subprocess.Popen[bytes]:
    """Start ``python <args>`` in ``cwd`` (whose package ``-m`` runs) in its own session."""
    with open(log, "ab") as handle:
        return subprocess.Popen(
            [sys.executable, *args],
            env=env,
            cwd=cwd,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    """Stop a process we started (and its session), gracefully, then by force."""
    if process is None:
        return
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=45)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def log_tail(log: Path, chars: int = 2000) -> str:
    """The end of a process log, for error messages."""
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


def exceptions_in(log: Path) -> dict[str, int]:
    """How often each exception (type and message) appears in a process log."""
    if not log.exists():
        return {}
    text = log.read_text(errors="replace")
    return dict(
        Counter(f"{kind}: {message[:160]}" for kind, message in EXCEPTION_LINE.findall(text))
    )


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until ``url`` answers 200; fail with the log if the process dies or times out."""
    deadline = time.monotonic() + READY_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{log.stem} exited with {process.returncode}:\n{log_tail(log)}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise BenchError(f"{url} never became ready:\n{log_tail(log)}")


def migrate(env: dict[str, str], root: Path, tree: Path) -> None:
    """Run ``editorial-assistant migrate`` on the fresh data folder."""
    log = root / "migrate.log"
    process = launch(["-m", "editorial_assistant", "migrate"], env, log, tree)
    if process.wait(timeout=120) != 0:
        raise BenchError(f"migrate failed:\n{log_tail(log)}")


def create_api_key(env: dict[str, str], root: Path, tree: Path) -> str | None:
    """An admin key from the CLI; None for a ``--tree`` from before API keys existed."""
    args = ["-m", "editorial_assistant", "api-key", "create", "--name", "bench", "--role", "admin"]
    command = [sys.executable, *args, "--json"]
    done = subprocess.run(
        command, env=env, cwd=tree, capture_output=True, text=True, timeout=120, check=False
    )
    (root / "api-key.log").write_text(done.stderr, encoding="utf-8")
    if done.returncode == 2 and "No such command" in done.stderr:
        return None
    if done.returncode != 0:
        raise BenchError(f"api-key create failed:\n{done.stderr[-2000:]}")
    return str(json.loads(done.stdout)["key"])


@contextmanager
def running_service(
    root: Path,
    *,
    tree: Path,
    api_workers: int,
    overrides: dict[str, str],
    worker: bool = True,
) -> Iterator[Service]:
    """The API (gunicorn, ``api_workers`` workers) and a worker, run from the source ``tree``."""
    root.mkdir(parents=True)
    env = environment(root, overrides)
    migrate(env, root, tree)
    api_key = create_api_key(env, root, tree)
    port = free_port()
    api_args = ["-m", "editorial_assistant", "api", "--host", "127.0.0.1", "--port", str(port)]
    api = launch([*api_args, "--workers", str(api_workers)], env, root / "api.log", tree)
    service = Service(root, tree, env, f"http://127.0.0.1:{port}", api, api_workers, api_key)
    try:
        wait_ready(f"{service.base_url}/readyz", api, root / "api.log")
        if worker:
            service.worker = launch(
                ["-m", "editorial_assistant", "worker"], env, root / "worker.log", tree
            )
        yield service
    finally:
        for extra in service.extra:
            stop(extra)
        stop(service.worker, signal.SIGINT)
        stop(api)


def check_alive(service: Service) -> None:
    """Fail if the API or the worker died during a measurement."""
    for name, process in (("api", service.api), ("worker", service.worker)):
        if process is not None and process.poll() is not None:
            log = service.root / f"{name}.log"
            raise BenchError(f"{name} exited with {process.returncode}:\n{log_tail(log)}")


def children(pid: int) -> list[int]:
    """Direct children of ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def peak_rss_kib(pid: int) -> int:
    """VmHWM (peak resident set) of one process in KiB; 0 if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def tree_peak_rss_kib(pid: int | None) -> int:
    """Peak RSS of a process plus its direct children (a gunicorn master and its workers)."""
    if pid is None:
        return 0
    return peak_rss_kib(pid) + sum(peak_rss_kib(child) for child in children(pid))
