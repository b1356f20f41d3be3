"""``doctor``: the status components plus configuration and permission checks, each problem with
the command or setting that fixes it.

Configuration: the data folder (exists, the service user's, not world-readable), the root-only
credentials folder, the secrets, the restic repository, Litestream, cloudflared's configuration
and the alert channels. Under systemd also the units: enabled, active, none failed. Outside
systemd those are skipped with a note; every ``systemctl`` has the probe timeout.
"""

from __future__ import annotations

import pwd
import sqlite3
import stat
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path

from editorial_assistant.backups.litestream import find_binary, replica_url
from editorial_assistant.config import Settings
from editorial_assistant.monitoring.alerts import channels
from editorial_assistant.monitoring.status import (
    Component,
    guarded,
    system_status,
    systemctl,
    tunnel_credentials,
)
from editorial_assistant.ops.secrets import credentials_dir
from editorial_assistant.ops.tunnel import check_tunnel_config

SERVICE_USER = "editorial-assistant"
SET_SECRET = "Run `sudo editorial-assistant secret set {name}`."
UNITS = (
    "editorial-assistant.target",
    "editorial-assistant-api.socket",
    "editorial-assistant-worker.service",
    "editorial-assistant-backup.timer",
    "editorial-assistant-restore-drill.timer",
)


def doctor(
    conn: sqlite3.Connection | None, *, settings: Settings, now: datetime, systemd: bool = False
) -> list[Component]:
    """The status components, then every configuration and permission check."""
    checks: list[tuple[str, Callable[[], Component]]] = [
        ("data folder", lambda: data_dir_component(settings.data_dir)),
        ("credentials", lambda: credentials_component(credentials_dir(settings.environ))),
        ("auth secret", lambda: auth_secret_component(settings)),
        ("restic", lambda: restic_component(settings)),
        ("litestream install", lambda: litestream_install_component(settings)),
        ("tunnel config", lambda: tunnel_config_component(settings)),
        ("alert channels", lambda: alert_channels_component(settings)),
    ]
    found = system_status(conn, settings=settings, now=now, systemd=systemd)
    found += [guarded(name, run) for name, run in checks]
    timeout = settings.status.probe_timeout_seconds
    return found + (unit_components(timeout=timeout) if systemd else [_no_systemd()])


def data_dir_component(folder: Path, *, user: str = SERVICE_USER) -> Component:
    """The data folder exists, belongs to the service user, and others cannot read it."""
    name = "data folder"
    try:
        info = folder.stat()
    except OSError as exc:
        why = f"{folder} cannot be read: {exc.strerror or exc}"
        return Component(name, "fail", why, fix="Run `sudo editorial-assistant migrate`.")
    owner = _user_id(user)
    if owner is not None and info.st_uid != owner:
        fix = f"Run `sudo chown -R {user}: {folder}`."
        return Component(name, "fail", f"{folder} does not belong to {user}", fix=fix)
    if info.st_mode & stat.S_IRWXO:
        mode = stat.S_IMODE(info.st_mode)
        why = f"{folder} is open to every user (mode {mode:04o})"
        return Component(name, "fail", why, fix=f"Run `sudo chmod o-rwx {folder}`.")
    return Component(name, "ok", f"{folder} (mode {stat.S_IMODE(info.st_mode):04o})")


def credentials_component(folder: Path) -> Component:
    """The encrypted secrets' folder, when there is one: root's alone, mode 0700."""
    name = "credentials"
    try:
        info = folder.stat()
    except FileNotFoundError:
        return Component(name, "ok", f"no {folder}: secrets come from the environment")
    except OSError as exc:
        return Component(name, "warn", f"{folder} cannot be read: {exc.strerror or exc}")
    if info.st_uid != 0:
        fix = f"Run `sudo chown root:root {folder}`."
        return Component(name, "fail", f"{folder} does not belong to root", fix=fix)
    if stat.S_IMODE(info.st_mode) != 0o700:
        why = f"{folder} has mode {stat.S_IMODE(info.st_mode):04o}, not 0700"
        return Component(name, "fail", why, fix=f"Run `sudo chmod 0700 {folder}`.")
    return Component(name, "ok", f"{folder} is root's alone (0700)")


def auth_secret_component(settings: Settings) -> Component:
    """The API's HMAC key is set (sessions, API keys and CSRF tokens need it)."""
    if settings.secret("auth_secret"):
        return Component("auth secret", "ok", "auth_secret is set")
    fix = SET_SECRET.format(name="auth_secret")
    return Component("auth secret", "fail", "auth_secret is not set", fix=fix)


def restic_component(settings: Settings) -> Component:
    """With a restic repository set, its password must be set too."""
    if not settings.backup.restic_repository:
        fix = "Set backup.restic_repository: docs/guides/backups.md, section Setting up."
        return Component("restic", "warn", "no restic repository: nothing leaves this machine",
                         fix=fix)  # fmt: skip
    if not settings.secret("restic_password"):
        why = "backup.restic_repository is set but restic_password is not"
        return Component("restic", "fail", why, fix=SET_SECRET.format(name="restic_password"))
    return Component("restic", "ok", "repository and password set")


def litestream_install_component(settings: Settings) -> Component:
    """Litestream is installed and has a replica to write to."""
    fix = "Install Litestream: docs/guides/install.md, section Continuous replication."
    binary = find_binary(settings)
    if binary is None:
        return Component("litestream install", "warn", "Litestream is not installed", fix=fix)
    if replica_url(settings) is None:
        fix = "Set backup.litestream_replica_url: docs/guides/install.md, Continuous replication."
        return Component("litestream install", "warn", f"{binary}, but no replica URL", fix=fix)
    return Component("litestream install", "ok", f"{binary}, replica set")


def tunnel_config_component(settings: Settings) -> Component:
    """cloudflared's configuration, checked as ``tunnel check`` does, once a tunnel is set up."""
    path = settings.status.cloudflared_config
    if not tunnel_credentials(settings):
        return Component("tunnel config", "ok", "no tunnel set up: not checked")
    problems = check_tunnel_config(path)
    errors = [problem for problem in problems if problem.severity == "error"]
    if not problems:
        return Component("tunnel config", "ok", f"{path} is valid")
    first = (errors or problems)[0]
    why = f"{path}: {len(errors)} errors, {len(problems) - len(errors)} warnings; " + (
        f"{first.key}: {first.message}"
    )
    fix = f"{first.fix} Then run `editorial-assistant tunnel check` for the full list."
    return Component("tunnel config", "fail" if errors else "warn", why, fix=fix)


def alert_channels_component(settings: Settings) -> Component:
    """Someone hears about alerts: a webhook or e-mail beside the journal."""
    found = [name for name in channels(settings) if name != "journal"]
    if found:
        return Component("alert channels", "ok", ", ".join(found))
    fix = "Set alerts.webhook_url or alerts.email_to (docs/guides/monitoring.md)."
    return Component("alert channels", "warn", "no alert channel: alerts reach only the journal",
                     fix=fix)  # fmt: skip


def unit_components(*, timeout: float) -> list[Component]:
    """Each unit enabled and active, and no unit of ours failed."""
    found = [guarded(unit, partial(_unit, unit, timeout)) for unit in UNITS]
    failed = systemctl("--failed", "--plain", "--no-legend", "editorial-assistant*",
                       timeout=timeout)  # fmt: skip
    names = [line.split()[0] for line in (failed or "").splitlines() if line.strip()]
    if failed is None:
        found.append(Component("failed units", "warn", "systemctl did not answer in time"))
    elif names:
        fix = f"See why: `journalctl -u {names[0]}`; then `sudo systemctl reset-failed`."
        found.append(Component("failed units", "fail", ", ".join(names), fix=fix))
    else:
        found.append(Component("failed units", "ok", "none"))
    return found


def _unit(unit: str, timeout: float) -> Component:
    enabled = systemctl("is-enabled", unit, timeout=timeout) or "unknown"
    active = systemctl("is-active", unit, timeout=timeout) or "unknown"
    why = f"{enabled}, {active}"
    if enabled not in ("enabled", "static", "indirect", "alias"):
        return Component(unit, "fail", why, fix=f"Run `sudo systemctl enable --now {unit}`.")
    if active not in ("active", "activating", "reloading"):
        fix = f"Run `sudo systemctl start {unit}`; if it stops again, `journalctl -u {unit}`."
        return Component(unit, "fail", why, fix=fix)
    return Component(unit, "ok", why)


def _no_systemd() -> Component:
    return Component("systemd", "ok", "not running under systemd: unit checks skipped")


def _user_id(name: str) -> int | None:
    """The user's ID, or None when there is no such user (a development machine)."""
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None
