"""``editorial-assistant backup …`` as an operator runs it: exit codes, error and hint lines,
status and list as text and JSON, and the run that could not read everything (exit code 3)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from editorial_assistant.backups.commands import backup
from editorial_assistant.db import connect, migrate, utcnow
from editorial_assistant.transcripts.service import submit_transcript
from tests.backups import PASSWORD, need_restic
from tests.conftest import SRT
from tests.system.packages import skip_or_fail
from tests.system.processes import environment


def invoke(env: dict[str, str], *args: str) -> Result:
    """The ``backup`` group as ``editorial-assistant backup`` runs it."""
    return CliRunner().invoke(backup, list(args), env=env, obj={"config": None})


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    need_restic()
    migrate(tmp_path / "data" / "editorial-assistant.db")
    return environment(
        tmp_path, EA_RESTIC_REPOSITORY=str(tmp_path / "repo"), EA_RESTIC_PASSWORD=PASSWORD
    )


def test_init_then_run_then_status_and_list(env: dict[str, str]) -> None:
    made = invoke(env, "init")
    assert made.exit_code == 0 and ": created" in made.output, made.output
    assert "already exists; nothing to do" in invoke(env, "init").output
    ran = invoke(env, "run")
    assert ran.exit_code == 0, ran.output
    assert "backup 1 ok" in ran.output and "restic    snapshot" in ran.output

    status = invoke(env, "status")
    assert status.exit_code == 0 and status.output.startswith("backups: healthy"), status.output
    assert "opens: ID" in status.output and PASSWORD not in status.output
    body = json.loads(invoke(env, "status", "--json").output)
    assert body["healthy"] and body["repository"]["reachable"]
    assert body["last_good"]["id"] == 1 and body["last_good_age_hours"] < 1

    listed = invoke(env, "list")
    assert listed.exit_code == 0 and "  backup  manual  " in listed.output
    [run] = json.loads(invoke(env, "list", "--json").output)
    assert run["result"] == "ok" and run["trigger"] == "manual"


def test_a_failed_run_says_why_and_exits_1(env: dict[str, str]) -> None:
    ran = invoke(env, "run", "--trigger", "timer")  # the repository was never created
    assert ran.exit_code == 1
    assert "error: backup 1 failed: restic cat config" in ran.output
    assert "hint: If this is a new repository, create it once" in ran.output
    status = invoke(env, "status")
    assert status.exit_code == 1 and "NEED ATTENTION" in status.output
    assert "no backup has succeeded yet" in status.output
    assert "cannot be opened: restic_no_repository" in status.output


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder outside pytest's 0700 one, so another user can reach it."""
    folder = Path(tempfile.mkdtemp(prefix="ea-backup-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_file_restic_cannot_read_makes_a_warning_run_that_exits_3(shared_dir: Path) -> None:
    """restic exits 3 when it made a snapshot without some file. Root reads everything, so as
    root restic runs as nobody (setpriv), like the service user meeting a root-only file."""
    data, repo, password = shared_dir / "data", shared_dir / "repo", shared_dir / "password"
    migrate(data / "editorial-assistant.db")
    unreadable = add_transcript(data)
    unreadable.chmod(0)
    password.write_text(PASSWORD, encoding="utf-8")
    path = os.environ["PATH"]
    if os.geteuid() == 0:  # the data folder stays root's: the CLI would otherwise become nobody
        for made in (repo, data / "cache", data / "snapshots"):
            made.mkdir(mode=0o755)
        for mine in (repo, data / "cache", password):
            shutil.chown(mine, "nobody")
        path = f"{as_nobody(shared_dir, need_restic())}:{path}"
    env = environment(shared_dir, EA_RESTIC_REPOSITORY=str(repo), PATH=path)
    env["CREDENTIALS_DIRECTORY"] = str(shared_dir)  # its restic_password file is used as it is
    password.rename(shared_dir / "restic_password")
    assert invoke(env, "init").exit_code == 0

    ran = invoke(env, "run")
    assert ran.exit_code == 3, ran.output
    assert "warning: backup 1 finished with warnings: restic could not read 1 file(s)" in (
        ran.output
    )
    assert f"{unreadable}: Permission denied" in ran.output
    [run] = json.loads(invoke(env, "list", "--json").output)
    assert run["result"] == "warning" and run["restic_snapshot_id"]


def as_nobody(folder: Path, restic: str) -> str:
    """A folder whose ``restic`` runs the real one as nobody."""
    if shutil.which("setpriv") is None:
        skip_or_fail("setpriv is missing (util-linux)")
    shim = folder / "bin" / "restic"
    shim.parent.mkdir(mode=0o755)
    shim.write_text(
        f'#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups "{restic}" "$@"\n'
    )
    shim.chmod(0o755)
    return str(shim.parent)


def add_transcript(data: Path) -> Path:
    conn = connect(data / "editorial-assistant.db")
    made = submit_transcript(
        conn,
        data_dir=data,
        filename="2WLI1209HD.srt",
        data=SRT.encode(),
        max_bytes=10**6,
        now=utcnow(),
    )
    stored = conn.execute(
        "SELECT stored_path FROM transcripts WHERE id = ?", (made["transcript"]["id"],)
    ).fetchone()[0]
    conn.close()
    return data / stored
