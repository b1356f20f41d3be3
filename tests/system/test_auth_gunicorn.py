"""Rate limits and lockout hold across the real gunicorn's two worker processes."""

from __future__ import annotations

import sqlite3
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.system.processes import environment, free_port, run, start, stop, wait_for

pytestmark = pytest.mark.system


def cpu_ticks(pid: int) -> int:
    """User plus system CPU time of a process, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_two_workers_share_the_sign_in_limit_and_the_lockout(tmp_path: Path) -> None:
    env = environment(
        tmp_path,
        EA_AUTH_LOCKOUT_THRESHOLD="4",
        EA_RATE_LIMITS_LOGIN="12/hour",
    )
    assert run(["migrate"], env).returncode == 0
    assert run(["user", "create", "bob", "--role", "editor"], env).returncode == 0
    _set_password(env)
    port, log = free_port(), tmp_path / "api.log"
    base = f"http://127.0.0.1:{port}"
    api = start(["api", "--port", str(port), "--workers", "2"], env, log)
    try:
        wait_for(lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, "api", log)
        workers = wait_for(lambda: len(children(api.pid)) == 2 and children(api.pid), "workers")
        before = {pid: cpu_ticks(pid) for pid in workers}
        wrong = {"username": "bob", "password": "not the password at all"}
        with ThreadPoolExecutor(max_workers=10) as pool:
            answers = list(
                pool.map(lambda _: httpx.post(f"{base}/api/auth/login", json=wrong), range(20))
            )
        statuses = Counter(answer.status_code for answer in answers)
        assert statuses == {401: 3, 403: 9, 429: 8}, statuses
        assert all(int(a.headers["Retry-After"]) >= 1 for a in answers if a.status_code == 429)
        locked = [a.json()["error"]["code"] for a in answers if a.status_code == 403]
        assert set(locked) == {"account_locked"}
        # argon2 costs each sign-in tens of milliseconds: both processes did some of them
        assert all(cpu_ticks(pid) - before[pid] >= 5 for pid in workers), (before, workers)
    finally:
        assert stop(api) == 0, log.read_text(errors="replace")[-2000:]
    with sqlite3.connect(tmp_path / "data" / "editorial-assistant.db") as conn:
        lockouts = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'auth.lockout'")
        assert lockouts.fetchone()[0] == 1


def _set_password(env: dict[str, str]) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "editorial_assistant", "user", "reset-password", "bob"],
        env=env,
        input="the right long passphrase\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
