"""``editorial-assistant secret …``: store, rotate, delete and list the service's secrets.

These run as root: the files are root-only, and encrypting them takes root. A value comes from
a hidden prompt or from stdin, never from the command line, and is never printed. After a
change the units' drop-ins are brought in step and systemd reloaded; the command then says
which services to restart, since systemd hands credentials to a service only when it starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import click

from editorial_assistant.cli_support import CONTEXT
from editorial_assistant.errors import AppError, ConfigError
from editorial_assistant.ops.secrets import (
    ENCRYPTED,
    ONESHOTS,
    SECRETS,
    UNIT_DIR,
    SecretState,
    credentials_dir,
    delete_secret,
    encryption_problem,
    generate_secret,
    get_secret_or_raise,
    is_set,
    list_secrets,
    rotate_secret,
    sync_dropins,
    write_secret,
)

TEST_UNIT_DIR = "EA_SYSTEMD_UNIT_DIR"  # tests write the drop-ins here instead, without a reload


# The same help options as the main command's, also when the group runs alone (postinst, tests):
# click keeps a command's help option from the first context that asks for it.
@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def secret() -> None:
    """The service's secrets (systemd credentials in /etc/editorial-assistant/credentials)."""


@secret.command("set", context_settings=CONTEXT)
@click.argument("name")
@click.option("--generate", is_flag=True, help="Store a new random value instead of reading one.")
@click.option("--plain", is_flag=True, help="Store a plain root-only file, never encrypted.")
@click.option("--if-missing", is_flag=True, help="Leave the secret alone if it is already set.")
def secret_set(name: str, generate: bool, plain: bool, if_missing: bool) -> None:
    """Store secret NAME, typed at a hidden prompt or piped in on stdin.

    A piped value is read whole, less one trailing newline. It is stored encrypted (NAME.cred,
    with systemd-creds) where systemd 250 or later runs, else as a plain root-only file.
    """
    with _reported():
        folder = _folder()
        get_secret_or_raise(name)
        if if_missing and is_set(name, folder=folder):
            _sync_units(folder)  # the package's install script keeps the drop-ins in step too
            click.echo(f"{name} is already set; left as it is.")
            return
        value = generate_secret() if generate else _read_value(name)
        path = write_secret(name, value, folder=folder, encrypt=False if plain else None)
        _sync_units(folder)
    encrypted = path.name.endswith(ENCRYPTED)
    click.echo(f"{name}: stored {'encrypted' if encrypted else 'unencrypted'} in {path}")
    if not encrypted and not plain:
        click.echo(f"(not encrypted: {encryption_problem()})")
    _tell_restart(name)


@secret.command("rotate", context_settings=CONTEXT)
@click.argument("name")
def secret_rotate(name: str) -> None:
    """Give NAME (auth_secret) a new random value, keeping the old one as NAME_previous.

    What the old value signed (sessions, API keys) keeps working, and is re-signed with the new
    one on its next use, until NAME_previous is deleted.
    """
    with _reported():
        path = rotate_secret(name, folder=_folder())
        _sync_units(_folder())
    click.echo(f"{name}: new value stored in {path}; the old one is now {name}_previous.")
    _tell_restart(name)
    click.echo(
        f"Once every session and API key has been used since (see the rotation guide): "
        f"sudo editorial-assistant secret delete {name}_previous"
    )


@secret.command("delete", context_settings=CONTEXT)
@click.argument("name")
def secret_delete(name: str) -> None:
    """Remove secret NAME (an optional one, such as auth_secret_previous)."""
    with _reported():
        removed = delete_secret(name, folder=_folder())
        _sync_units(_folder())
    click.echo(f"{name}: removed {', '.join(map(str, removed))}" if removed else f"{name}: not set")
    _tell_restart(name)


@secret.command("list", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def secret_list(as_json: bool) -> None:
    """Show each secret: set or not, plain or encrypted, when it changed (never its value)."""
    with _reported():
        folder = _folder()
        states = list_secrets(folder)
        stale = sync_dropins(folder=folder, unit_dir=_unit_dir(), dry_run=True)
    problem = encryption_problem(probe=False)
    if as_json:
        body = {"folder": str(folder), "encryption": problem or "available", "secrets": states}
        body["stale_dropins"] = [str(path) for path in stale]
        click.echo(json.dumps(body, indent=2, default=asdict))
        return
    _print_table(states)
    click.echo(f"New values are stored {'unencrypted: ' + problem if problem else 'encrypted'}.")
    for path in stale:
        click.echo(f"warning: {path} does not match the files; `secret set`/`delete` rewrites it.")


def _print_table(states: list[SecretState]) -> None:
    click.echo(f"{'NAME':<22}{'STATE':<11}{'UPDATED (UTC)':<18}{'USED BY':<13}PURPOSE")
    for s in states:
        updated = s.updated[:16].replace("T", " ") if s.updated else "-"
        used = ", ".join(_short(unit) for unit in s.units) or "-"
        click.echo(f"{s.name:<22}{s.state:<11}{updated:<18}{used:<13}{s.purpose}")


def _short(unit: str) -> str:
    return unit.removeprefix("editorial-assistant-").removesuffix(".service")


def _read_value(name: str) -> str:
    if sys.stdin.isatty():
        return str(click.prompt(f"Value of {name}", hide_input=True, confirmation_prompt=True))
    return sys.stdin.read().removesuffix("\n").removesuffix("\r")


def _folder() -> Path:
    """The credentials folder, once we know we may write it."""
    if os.geteuid() != 0 and "EA_CREDENTIALS_DIR" not in os.environ:
        raise ConfigError(
            "The secrets are root-only files: this command must run as root.",
            hint=f"Run it with sudo: sudo {click.get_current_context().command_path} …",
        )
    return credentials_dir(os.environ)


def _unit_dir() -> Path:
    return Path(os.environ.get(TEST_UNIT_DIR) or UNIT_DIR)


def _sync_units(folder: Path) -> None:
    """Bring the drop-ins in step and have systemd read them (it runs them at the next start)."""
    changed = sync_dropins(folder=folder, unit_dir=_unit_dir())
    if not changed or TEST_UNIT_DIR in os.environ or not Path("/run/systemd/system").is_dir():
        return
    reloaded = subprocess.run(["systemctl", "daemon-reload"], check=False, capture_output=True)
    if reloaded.returncode != 0:
        click.echo("warning: `systemctl daemon-reload` failed; run it before restarting.", err=True)


def _tell_restart(name: str) -> None:
    units = SECRETS[name].units
    if not units:
        click.echo(f"Nothing uses {name} yet, so there is nothing to restart.")
        return
    running = [unit for unit in units if unit not in ONESHOTS]
    if not running:  # oneshots: restarting one would run a backup or a drill now
        click.echo(f"The next run of {' and '.join(units)} uses it; nothing to restart.")
        return
    click.echo(f"To apply it: sudo systemctl restart {' '.join(running)}")
    click.echo("(a reload is not enough: a service gets its credentials when it starts)")


@contextmanager
def _reported() -> Iterator[None]:
    """Errors as ``error: …`` and ``hint: …`` lines and exit status 2, never a traceback."""
    try:
        yield
    except AppError as exc:
        _fail(exc.message, exc.hint)
    except OSError as exc:
        _fail(f"{exc.filename or 'a file'}: {exc.strerror}", "Is this running as root?")


def _fail(message: str, hint: str) -> None:
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    sys.exit(2)


if __name__ == "__main__":  # the package's postinst, which needs nothing else of the app
    secret(prog_name="editorial-assistant secret")
