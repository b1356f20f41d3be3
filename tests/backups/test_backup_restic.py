"""The restic wrapper against the real binary: versions, exit codes, failures named, password kept
out of argv and the environment, timeouts."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from editorial_assistant.backups.restic import (
    ResticError,
    classify,
    execute,
    init_repository,
    open_repository,
    probe_repository,
    redact,
)
from tests.backups import PASSWORD, backup_settings, need_restic


def shim(tmp_path: Path, body: str) -> str:
    """A stand-in for the restic binary (a shell script), for what the real one cannot show."""
    path = tmp_path / "restic-shim"
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


def test_init_creates_the_repository_once_and_says_so(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, init=False)
    need_restic()
    first = init_repository(settings)
    again = init_repository(settings)
    assert first["created"] and not again["created"]
    assert first["repository_id"] == again["repository_id"]
    assert (tmp_path / "repo" / "config").is_file()
    assert probe_repository(settings)["reachable"]


def test_a_wrong_password_is_named(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path)
    wrong = backup_settings(tmp_path, init=False, EA_RESTIC_PASSWORD="not the password")
    with pytest.raises(ResticError) as failed, open_repository(wrong) as restic:
        restic.repository_id()
    assert failed.value.code == "restic_wrong_password"
    assert "wrong password" in failed.value.message and "secret set restic_password" in (
        failed.value.hint
    )
    assert PASSWORD not in failed.value.message and "not the password" not in str(failed.value)
    assert probe_repository(settings)["reachable"]


def test_a_missing_repository_is_named_and_a_probe_never_creates_one(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, init=False)
    need_restic()
    probe = probe_repository(settings)
    assert probe["reachable"] is False and probe["code"] == "restic_no_repository"
    assert "backup init" in probe["hint"] and "unmounted" in probe["hint"]
    assert not (tmp_path / "repo").exists()


def test_an_unreachable_repository_is_named(tmp_path: Path) -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    settings = backup_settings(
        tmp_path, init=False, EA_RESTIC_REPOSITORY="s3:http://127.0.0.1:9/bucket/station"
    )
    need_restic()
    probe = probe_repository(settings)
    assert probe["reachable"] is False and probe["code"] == "restic_unreachable", probe
    with pytest.raises(ResticError) as refused:  # and init does not try to create it
        init_repository(settings)
    assert refused.value.code == "restic_unreachable"


def test_the_password_travels_only_as_a_private_file(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, init=False)
    seen = tmp_path / "seen.json"
    spy = tmp_path / "restic-spy"
    spy.write_text(SPY.format(python=sys.executable, seen=seen), encoding="utf-8")
    spy.chmod(0o755)
    with open_repository(settings, binary=str(spy)) as restic:
        restic.version()
        used = restic.password_file
    said = json.loads(seen.read_text(encoding="utf-8"))
    assert said["password"] == PASSWORD and said["mode"] == 0o600 and said["folder"] == 0o700
    assert PASSWORD not in " ".join(said["argv"]) + json.dumps(said["env"])
    assert said["env"]["RESTIC_REPOSITORY"] == str(tmp_path / "repo")
    assert not any(name.startswith("EA_") for name in said["env"])
    assert not used.exists() and not used.parent.exists()  # removed afterwards


SPY = """#!{python}
import json, os, stat, sys
path = os.environ["RESTIC_PASSWORD_FILE"]
seen = {{
    "argv": sys.argv,
    "env": dict(os.environ),
    "mode": stat.S_IMODE(os.stat(path).st_mode),
    "folder": stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode),
    "password": open(path).read(),
}}
json.dump(seen, open("{seen}", "w"))
print("restic 0.14.0 compiled with go1.19.8 on linux/amd64")
"""


def test_the_units_credential_file_is_used_as_it_is(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "restic_password").write_text(PASSWORD + "\n", encoding="utf-8")
    settings = backup_settings(tmp_path, init=False, CREDENTIALS_DIRECTORY=str(credentials))
    with open_repository(settings) as restic:
        assert restic.password_file == credentials / "restic_password"
    assert (credentials / "restic_password").exists()


def test_without_a_password_restic_is_not_set_up(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, init=False, EA_RESTIC_PASSWORD="")
    with pytest.raises(ResticError) as refused, open_repository(settings):
        pass
    assert refused.value.code == "restic_not_configured"
    assert "restic_password" in refused.value.message


def test_a_restic_older_than_0_12_1_is_refused(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, init=False)
    old = shim(tmp_path, 'echo "restic 0.11.0 compiled with go1.15.9 on linux/amd64"')
    with pytest.raises(ResticError) as refused, open_repository(settings, binary=old) as restic:
        restic.version()
    assert refused.value.code == "restic_too_old" and "0.12.1" in refused.value.hint
    with open_repository(settings, binary=need_restic()) as restic:
        assert tuple(map(int, restic.version().split("."))) >= (0, 12, 1)


@pytest.mark.parametrize(
    ("code", "said", "expected"),
    [
        (0 + 3, "Warning: at least one source file could not be read", "restic_failed"),
        (42, "", "restic_failed"),
        (130, "signal interrupt received, cleaning up", "restic_interrupted"),
        (10, "", "restic_no_repository"),
        (11, "", "restic_locked"),
        (12, "", "restic_wrong_password"),
        (
            1,
            "Fatal: unable to create lock in backend: repository is already locked",
            "restic_locked",
        ),
        (1, "Pack ID does not match, want 54a5d3be, got bbded728", "restic_repository_damaged"),
    ],
)
def test_every_exit_code_but_0_is_a_failure_with_a_name(
    code: int, said: str, expected: str
) -> None:
    # 3 outside `backup` and codes nobody documented are plain failures, never a success.
    assert classify(code, said)[0] == expected


def test_an_exit_code_restic_never_documented_fails_the_call(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path, init=False)
    odd = shim(tmp_path, 'echo "something odd" >&2; exit 42')
    with pytest.raises(ResticError) as failed, open_repository(settings, binary=odd) as restic:
        restic.check("1/1")
    assert failed.value.code == "restic_failed"
    assert "exit code 42" in failed.value.message and "something odd" in failed.value.message


def test_a_restic_that_hangs_is_interrupted_at_the_timeout(tmp_path: Path) -> None:
    marker = tmp_path / "interrupted"
    stuck = shim(tmp_path, f"trap 'touch {marker}; exit 130' INT\nwhile :; do sleep 0.1; done")
    began = time.monotonic()
    with pytest.raises(ResticError) as failed:
        execute([stuck], {"PATH": os.environ["PATH"]}, timeout=0.5, what="restic backup")
    assert failed.value.code == "restic_timeout" and time.monotonic() - began < 10
    assert marker.exists()  # it got SIGINT first, to release its lock


def test_a_password_in_a_repository_address_is_never_shown() -> None:
    assert redact("rest:https://station:s3cret@backup.example:8000/ea") == (
        "rest:https://station:***@backup.example:8000/ea"
    )
    assert redact("sftp:backup@nas.example:/srv/restic") == "sftp:backup@nas.example:/srv/restic"


def test_the_restic_cache_lives_in_the_data_folder(tmp_path: Path) -> None:
    settings = backup_settings(tmp_path)
    with open_repository(settings) as restic:
        restic.repository_id()
    cache = settings.data_dir / "cache" / "restic"
    assert cache.is_dir() and stat.S_IMODE(cache.stat().st_mode) & 0o007 == 0
