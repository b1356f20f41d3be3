"""What the backup tests share: settings with a local restic repository, jobs with outputs, and
the real ``restic`` (a test that needs it skips when it is missing, and fails under CI)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from editorial_assistant.backups.restic import init_repository
from editorial_assistant.config import Settings
from editorial_assistant.db import connect, migrate, utcnow
from editorial_assistant.transcripts.service import submit_transcript
from editorial_assistant.worker import Worker
from tests.conftest import make_settings
from tests.jobs.test_job_lifecycle import long_srt
from tests.system.packages import skip_or_fail

PASSWORD = "correct horse battery staple"


def need_restic() -> str:
    """The path of the real restic, or skip (fail under EA_REQUIRE_SYSTEM_TESTS=1)."""
    found = shutil.which("restic")
    if found is None:
        skip_or_fail("restic is not installed (apt install restic)")
    return str(found)


def backup_settings(tmp_path: Path, *, init: bool = True, **env: str) -> Settings:
    """Settings on ``tmp_path`` with a migrated database and a local restic repository."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    environ = {"EA_RESTIC_REPOSITORY": str(tmp_path / "repo"), "EA_RESTIC_PASSWORD": PASSWORD}
    settings = make_settings(tmp_path, **{**environ, **env})
    migrate(settings.database_path)
    if init:
        need_restic()
        init_repository(settings)
    return settings


def make_jobs(settings: Settings, count: int, *, words: int = 600) -> list[int]:
    """Submit ``count`` caption files and run each job on the local backend."""
    conn, worker, text = connect(settings.database_path), Worker(settings), long_srt(words)
    ids: list[int] = []
    first = conn.execute("SELECT count(*) FROM transcripts").fetchone()[0]
    try:
        for number in range(first, first + count):
            made = submit_transcript(
                conn,
                data_dir=settings.data_dir,
                filename=f"2WLI{number:04d}HD.srt",
                data=text.encode(),
                max_bytes=10_000_000,
                now=utcnow(),
            )
            ids.append(int(made["job"]["id"]))
            assert worker.run(ids[-1]) == "completed"
    finally:
        conn.close()
    return ids


def digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by path relative to it."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def restic(settings: Settings, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The real restic on the test repository, as an operator would call it."""
    password = Path(settings.data_dir).parent / "restic-password"
    password.write_text(PASSWORD, encoding="utf-8")
    env = {"RESTIC_PASSWORD_FILE": str(password), "PATH": "/usr/local/bin:/usr/bin:/bin"}
    command = [need_restic(), "-r", settings.backup.restic_repository, "--no-cache", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=check)


def snapshots(settings: Settings, *args: str) -> list[dict[str, Any]]:
    """``restic snapshots --json``."""
    return list(json.loads(restic(settings, "snapshots", "--json", *args).stdout))
