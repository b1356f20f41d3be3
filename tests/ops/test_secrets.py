"""Secrets on disk (``ops/secrets.py``) and the ``secret`` commands, without systemd.

``systemd-creds`` cannot run here (systemd is not PID 1), so the encrypted path is checked
against a stand-in for ``systemctl`` and ``systemd-creds`` that records what it was given; the
real thing runs in tests/system/test_secrets.py.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from editorial_assistant.errors import ConfigError, InvalidInput
from editorial_assistant.ops.secret_commands import secret
from editorial_assistant.ops.secrets import (
    API,
    DROPIN,
    SECRETS,
    WORKER,
    credentials_dir,
    delete_secret,
    encryption_problem,
    generate_secret,
    list_secrets,
    read_secret,
    rotate_secret,
    sync_dropins,
    write_secret,
)

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-or-v1-0123456789abcdef"


class FakeSystemd:
    """``systemctl show`` and ``systemd-creds encrypt/decrypt``: records argv and stdin."""

    def __init__(self, version: str | None = "252.39-1~deb12u2", encrypts: bool = True) -> None:
        self.version, self.encrypts = version, encrypts
        self.calls: list[tuple[list[str], bytes]] = []

    def __call__(self, argv: Sequence[str], *, input: bytes, **_: object) -> Done:
        self.calls.append((list(argv), input))
        if argv[0] == "systemctl":
            return self.done(argv, self.version is not None, (self.version or "").encode())
        if argv[1] == "encrypt":
            return self.done(argv, self.encrypts, b"SEALED:" + input[::-1] + b"\n")
        sealed = Path(argv[3]).read_bytes().removeprefix(b"SEALED:").strip()
        return self.done(argv, True, sealed[::-1])

    @staticmethod
    def done(argv: Sequence[str], ok: bool, out: bytes) -> Done:
        return subprocess.CompletedProcess(list(argv), 0 if ok else 1, out if ok else b"", b"no")


Done = subprocess.CompletedProcess[bytes]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    made = tmp_path / "credentials"
    made.mkdir(mode=0o700)
    return made


def plain(name: str, value: str, folder: Path) -> Path:
    return write_secret(name, value, folder=folder, encrypt=False)


def test_the_folder_is_the_production_one_unless_a_test_names_another() -> None:
    assert credentials_dir({}) == Path("/etc/editorial-assistant/credentials")
    assert credentials_dir({"EA_CREDENTIALS_DIR": "/tmp/x"}) == Path("/tmp/x")


def test_it_refuses_an_unknown_name_and_lists_the_known_ones(folder: Path) -> None:
    with pytest.raises(InvalidInput) as refused:
        plain("openrouter_key", KEY, folder)
    assert "no secret called" in refused.value.message
    assert all(name in refused.value.hint for name in SECRETS)
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("", "is empty"),
        ("\n", "is empty"),
        ("sk-or\0x", "NUL"),
        (" sk-or", "white space"),
        ("sk-or\n", "white space"),
        ("sk\nor", "several lines"),
        ("x" * 5000, "longer than"),
    ],
)
def test_it_refuses_a_value_the_service_could_not_use(folder: Path, value: str, said: str) -> None:
    with pytest.raises(InvalidInput, match=said):
        plain("openrouter_api_key", value, folder)
    assert list(folder.iterdir()) == []


def test_a_plain_secret_is_one_root_only_file_written_whole(folder: Path) -> None:
    (folder / "openrouter_api_key.cred").write_text("SEALED:old")
    path = plain("openrouter_api_key", KEY, folder)
    assert path == folder / "openrouter_api_key"
    assert path.read_text() == KEY  # as given: no newline added
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["openrouter_api_key"]  # no temp, no .cred


def test_an_encrypted_secret_goes_through_systemd_creds_on_stdin_only(folder: Path) -> None:
    plain("openrouter_api_key", "sk-or-old", folder)
    fake = FakeSystemd()
    path = write_secret("openrouter_api_key", KEY, folder=folder, run=fake)
    assert path == folder / "openrouter_api_key.cred"
    assert sorted(p.name for p in folder.iterdir()) == ["openrouter_api_key.cred"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    encrypt = [(argv, data) for argv, data in fake.calls if "--name=openrouter_api_key" in argv]
    assert encrypt == [(["systemd-creds", "encrypt", "--name=openrouter_api_key", "-", "-"],
                        KEY.encode())]  # fmt: skip
    assert not any(KEY in " ".join(argv) for argv, _ in fake.calls)
    assert KEY.encode() not in path.read_bytes()
    assert read_secret("openrouter_api_key", folder=folder, run=fake) == KEY


def test_a_refused_encryption_leaves_the_old_value_in_place(folder: Path) -> None:
    plain("openrouter_api_key", "sk-or-old", folder)
    with pytest.raises(ConfigError, match="cannot encrypt"):
        write_secret("openrouter_api_key", KEY, folder=folder, encrypt=True,
                     run=FakeSystemd(encrypts=False))  # fmt: skip
    assert [p.name for p in folder.iterdir()] == ["openrouter_api_key"]
    assert (folder / "openrouter_api_key").read_text() == "sk-or-old"


def test_encryption_needs_a_running_systemd_250_that_can_encrypt(folder: Path) -> None:
    assert encryption_problem(FakeSystemd()) is None
    assert "249" in str(encryption_problem(FakeSystemd("249.11-0ubuntu3.12")))
    assert "not the running service manager" in str(encryption_problem(FakeSystemd(None)))
    assert "cannot encrypt" in str(encryption_problem(FakeSystemd(encrypts=False)))
    # Asked for: a refusal. Left to choose: a plain file.
    with pytest.raises(ConfigError, match="249"):
        write_secret("auth_secret", "x" * 64, folder=folder, encrypt=True, run=FakeSystemd("249"))
    path = write_secret("auth_secret", "x" * 64, folder=folder, run=FakeSystemd("249"))
    assert path.name == "auth_secret"


def test_encrypted_secrets_get_a_dropin_per_unit_that_follows_the_files(folder: Path) -> None:
    units = folder.parent / "system"
    fake = FakeSystemd()
    write_secret("openrouter_api_key", KEY, folder=folder, run=fake)
    write_secret("auth_secret", generate_secret(), folder=folder, run=fake)
    assert sorted(p.name for p in sync_dropins(folder=folder, unit_dir=units)) == [DROPIN] * 2
    api = (units / f"{API}.d" / DROPIN).read_text()
    worker = (units / f"{WORKER}.d" / DROPIN).read_text()
    lines = [line for line in api.splitlines() if not line.startswith("#")]
    assert lines == [
        "[Service]",
        f"LoadCredentialEncrypted=openrouter_api_key:{folder}/openrouter_api_key.cred",
        f"LoadCredentialEncrypted=auth_secret:{folder}/auth_secret.cred",
    ]
    assert "auth_secret" not in worker  # the worker never gets the HMAC key
    assert sync_dropins(folder=folder, unit_dir=units) == []  # in step: nothing to do
    plain("openrouter_api_key", KEY, folder)
    assert sync_dropins(folder=folder, unit_dir=units, dry_run=True) != []
    sync_dropins(folder=folder, unit_dir=units)
    assert not (units / f"{WORKER}.d" / DROPIN).exists()
    assert "openrouter" not in (units / f"{API}.d" / DROPIN).read_text()


def test_rotation_keeps_the_old_value_as_previous_once(folder: Path) -> None:
    plain("auth_secret", "a" * 64, folder)
    rotate_secret("auth_secret", folder=folder)
    assert (folder / "auth_secret_previous").read_text() == "a" * 64
    assert re.fullmatch(r"[0-9a-f]{64}", (folder / "auth_secret").read_text())
    with pytest.raises(InvalidInput, match="still set"):
        rotate_secret("auth_secret", folder=folder)
    with pytest.raises(InvalidInput, match="no rotation"):
        rotate_secret("openrouter_api_key", folder=folder)


def test_an_encrypted_secret_rotates_into_an_encrypted_previous(folder: Path) -> None:
    fake = FakeSystemd()
    write_secret("auth_secret", "b" * 64, folder=folder, run=fake)
    rotate_secret("auth_secret", folder=folder, run=fake)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["auth_secret.cred", "auth_secret_previous.cred"]
    assert read_secret("auth_secret_previous", folder=folder, run=fake) == "b" * 64


def test_only_an_optional_secret_can_be_deleted(folder: Path) -> None:
    plain("auth_secret", "c" * 64, folder)
    with pytest.raises(InvalidInput, match="required"):
        delete_secret("auth_secret", folder=folder)
    plain("openrouter_api_key", KEY, folder)
    (folder / "openrouter_api_key.cred").write_text("SEALED:stray")
    assert len(delete_secret("openrouter_api_key", folder=folder)) == 2
    assert delete_secret("openrouter_api_key", folder=folder) == []


def test_the_listing_says_how_each_secret_is_stored_and_never_its_value(folder: Path) -> None:
    plain("auth_secret", "d" * 64, folder)
    write_secret("openrouter_api_key", KEY, folder=folder, run=FakeSystemd())
    (folder / "auth_secret_previous").touch()  # the package's empty placeholder style
    states = {state.name: state for state in list_secrets(folder)}
    assert {name: state.state for name, state in states.items()} == {
        "openrouter_api_key": "encrypted",
        "auth_secret": "plain",
        "auth_secret_previous": "empty",
        "restic_password": "not set",
        "smtp_password": "not set",
    }
    assert states["auth_secret"].updated and not states["restic_password"].updated
    assert KEY not in repr(states) and "d" * 64 not in repr(states)


def test_every_unit_loads_exactly_the_secrets_listed_for_it() -> None:
    for unit in (API, WORKER):
        text = (REPO / "systemd" / unit).read_text(encoding="utf-8")
        loaded = re.findall(r"^LoadCredential=(\w+):/etc/editorial-assistant/credentials/\1$",
                            text, re.MULTILINE)  # fmt: skip
        defaults = re.findall(r"^SetCredential=(\w+):\\n$", text, re.MULTILINE)
        assert sorted(loaded) == sorted(s.name for s in SECRETS.values() if unit in s.units)
        assert sorted(defaults) == sorted(n for n in loaded if not SECRETS[n].required)
        assert "Environment=" not in text and "EnvironmentFile" not in text


# --- the commands ---------------------------------------------------------------------------


def invoke(folder: Path, *args: str, input: str | None = None) -> Result:
    env = {"EA_CREDENTIALS_DIR": str(folder), "EA_SYSTEMD_UNIT_DIR": str(folder.parent / "u")}
    return CliRunner().invoke(secret, list(args), env=env, input=input)


def test_set_reads_a_pipe_whole_less_one_newline_and_says_what_to_restart(folder: Path) -> None:
    done = invoke(folder, "set", "openrouter_api_key", input=KEY + "\n")
    assert done.exit_code == 0, done.output
    assert (folder / "openrouter_api_key").read_text() == KEY
    assert "stored unencrypted" in done.output and KEY not in done.output
    assert f"sudo systemctl restart {WORKER} {API}" in done.output
    again = invoke(folder, "set", "openrouter_api_key", input=KEY + "\n\n")
    assert again.exit_code == 2 and "white space" in again.output


def test_set_generate_stores_a_value_it_never_shows(folder: Path) -> None:
    done = invoke(folder, "set", "auth_secret", "--generate", "--plain")
    assert done.exit_code == 0, done.output
    value = (folder / "auth_secret").read_text()
    assert re.fullmatch(r"[0-9a-f]{64}", value) and value not in done.output
    kept = invoke(folder, "set", "auth_secret", "--generate", "--if-missing")
    assert "already set" in kept.output and (folder / "auth_secret").read_text() == value


def test_list_prints_states_and_json_without_values(folder: Path) -> None:
    invoke(folder, "set", "openrouter_api_key", input=KEY)
    table = invoke(folder, "list")
    assert table.exit_code == 0
    assert re.search(r"^openrouter_api_key\s+plain\s+\d{4}-", table.output, re.MULTILINE)
    assert re.search(r"^restic_password\s+not set\s+-", table.output, re.MULTILINE)
    body = json.loads(invoke(folder, "list", "--json").output)
    assert [s["state"] for s in body["secrets"]][:2] == ["plain", "not set"]
    assert body["stale_dropins"] == [] and KEY not in table.output + json.dumps(body)


def test_errors_are_two_lines_and_exit_2_without_a_traceback(folder: Path) -> None:
    for args in (["set", "openrouter"], ["delete", "auth_secret"], ["rotate", "auth_secret"]):
        done = invoke(folder, *args, input="")
        assert done.exit_code == 2, done.output
        assert done.output.startswith("error: ") and "\nhint: " in done.output
        assert "Traceback" not in done.output


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_the_commands_refuse_to_run_as_anyone_but_root(folder: Path) -> None:
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked child
        os.close(read)
        os.setgid(65534)
        os.setuid(65534)
        done = CliRunner().invoke(secret, ["list"], env={"EA_CREDENTIALS_DIR": None})
        os.write(write, f"{done.exit_code}\n{done.output}".encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as said:
        status, output = said.read().split("\n", 1)
    os.waitpid(child, 0)
    assert status == "2" and "must run as root" in output and "sudo" in output
