"""Starting the real ``editorial-assistant`` processes for system tests, and waiting on state."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

DEADLINE_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EA_")}
    return {
        **env,
        "EA_DATA_DIR": str(tmp_path / "data"),
        "EA_CONFIG": str(config),
        "EA_CREDENTIALS_DIR": str(tmp_path / "no-credentials"),
        **extra,
    }


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "ab")  # noqa: SIM115 - the child process owns it for its lifetime
    return subprocess.Popen(
        [sys.executable, "-m", "editorial_assistant", *args],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "editorial_assistant", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> int:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        return process.wait(timeout=45)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait()


def wait_for(check: Callable[[], Any], what: str, log: Path | None = None) -> Any:
    """Poll ``check`` until it returns something truthy; fail with the log if it never does."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        try:
            value = check()
        except httpx.TransportError:
            value = None
        if value:
            return value
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def admin_key(env: dict[str, str]) -> str:
    """Migrate, then create an admin API key with the CLI, as an operator would."""
    assert run(["migrate"], env).returncode == 0
    made = run(["api-key", "create", "--name", "tests", "--role", "admin", "--json"], env)
    assert made.returncode == 0, made.stderr
    return str(json.loads(made.stdout)["key"])


def api_client(key: str) -> httpx.Client:
    """An HTTP client that sends ``key``."""
    return httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=30)


def job_status(http: httpx.Client, base: str, job_id: int) -> dict[str, Any]:
    return http.get(f"{base}/api/jobs/{job_id}", timeout=5).json()  # type: ignore[no-any-return]


@dataclass
class Served:
    """A running ``editorial-assistant serve`` (API and worker) and an admin client for it."""

    base: str
    http: httpx.Client
    process: subprocess.Popen[bytes]
    log: Path


def serve(tmp_path: Path, **extra_env: str) -> Served:
    """Start ``serve`` on a free port with an admin API key; return once it answers /readyz."""
    port, log = free_port(), tmp_path / "serve.log"
    env = environment(tmp_path, **extra_env)
    http = api_client(admin_key(env))
    process = start(["serve", "--port", str(port)], env, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, "ready", log)
    except BaseException:
        stop(process)
        raise
    return Served(base, http, process, log)
