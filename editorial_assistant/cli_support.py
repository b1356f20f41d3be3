"""What every ``editorial-assistant`` verb shares: settings, the database, errors, the operator.

Run as root on a machine where the data folder belongs to the service user, a verb first reads
the secrets it may need from the root-only credentials folder, then becomes the service user, so
it never leaves root-owned files the service cannot open. Audit entries name the operator as
``cli:<login>`` (the person behind ``sudo`` when there is one).
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from editorial_assistant.audit.service import Who
from editorial_assistant.config import Settings, load_settings
from editorial_assistant.db import Database, check_schema
from editorial_assistant.errors import AppError, ConfigError
from editorial_assistant.logs import configure_logging
from editorial_assistant.ops.secrets import SECRETS as KNOWN_SECRETS

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
# Commands that only read the configuration, never the data folder.
READ_ONLY_COMMANDS = {"check", "show", "wait-ready", "version"}
# Secrets a verb may need after it has stopped being root: every one the service knows.
SECRETS = tuple(KNOWN_SECRETS)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Print an ``AppError`` as ``error:``/``hint:`` and exit (2 configuration, 1 otherwise)."""
    try:
        yield
    except ConfigError as exc:
        fail(exc, status=2)
    except AppError as exc:
        fail(exc, status=1)


def fail(exc: AppError, *, status: int) -> None:
    """Print ``exc`` for a person and exit with ``status``."""
    click.echo(f"error: {exc.message}", err=True)
    if exc.hint:
        click.echo(f"hint: {exc.hint}", err=True)
    sys.exit(status)


def settings_of(ctx: click.Context) -> Settings:
    """The settings, loaded once per run (as the data folder's owner, see the module doc)."""
    obj = ctx.find_root().obj
    settings = obj.get("settings")
    if settings is None:
        with reported_errors():
            settings = obj["settings"] = load_settings(config_file=obj["config"])
        if ctx.info_name not in READ_ONLY_COMMANDS:
            become_data_owner(settings)
        configure_logging(settings.log.level, journal_stream=settings.environ.get("JOURNAL_STREAM"))
    return settings


def database_of(ctx: click.Context) -> Database:
    """The application database, refusing one whose schema does not match this code."""
    database = Database(settings_of(ctx).database_path)
    with reported_errors():
        check_schema(database.conn())
    return database


def operator() -> Who:
    """The person at the terminal, for the audit log."""
    name = os.environ.get("SUDO_USER") or _login_name()
    return Who(f"cli:{name}")


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return str(os.getuid())


def become_data_owner(settings: Settings) -> None:
    """As root, with a data folder owned by someone else: keep the secrets, then become them."""
    try:
        owner = settings.data_dir.stat()
    except OSError:
        return
    if os.geteuid() != 0 or owner.st_uid == 0:
        return
    operator_name = operator().actor  # before the switch, while SUDO_USER/root still apply
    settings.remember_secrets(SECRETS)
    _switch_user(owner.st_uid, owner.st_gid, settings.data_dir)
    os.environ.setdefault("SUDO_USER", operator_name.removeprefix("cli:"))


def _switch_user(uid: int, gid: int, data_dir: Path) -> None:
    import pwd

    try:
        entry = pwd.getpwuid(uid)
        os.initgroups(entry.pw_name, gid)
    except KeyError:
        os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    try:
        os.chdir(data_dir)  # root's working folder may be unreadable for the service user
    except OSError:
        os.chdir("/")
