"""``editorial-assistant status`` and ``doctor``: one line per component, OK, WARN or FAIL and
why; ``doctor`` adds the configuration and permission checks and the fix for each problem.

Both exit 0 when nothing FAILs (WARN lines are printed, but a warning is not a failure: exit 2
is bad usage in this CLI, so warnings do not get a status of their own), 1 when something does.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable

import click

from editorial_assistant.cli_support import CONTEXT, settings_of
from editorial_assistant.config import Settings
from editorial_assistant.db import connect, utcnow
from editorial_assistant.monitoring.doctor import doctor as run_doctor
from editorial_assistant.monitoring.status import (
    Component,
    status_document,
    system_status,
    under_systemd,
    worst,
)

Report = Callable[..., list[Component]]


@click.command("status", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Health at a glance: API, worker, migrations, queue, LLM, Litestream, backups, cloudflared,
    disk, memory and budget, each OK, WARN or FAIL with the reason.

    Exits 0 when nothing FAILs (warnings included), 1 when something does.
    """
    _show(settings_of(ctx), system_status, as_json=as_json, fixes=False)


@click.command("doctor", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """The status, plus configuration and permission checks (data folder, credentials, secrets,
    restic, Litestream, cloudflared, alert channels, systemd units), each problem with its fix.

    Exits 0 when nothing FAILs (warnings included), 1 when something does.
    """
    _show(settings_of(ctx), run_doctor, as_json=as_json, fixes=True)


def _show(settings: Settings, report: Report, *, as_json: bool, fixes: bool) -> None:
    now = utcnow()
    conn = _open(settings)
    try:
        found = report(conn, settings=settings, now=now, systemd=under_systemd())
    finally:
        if conn is not None:
            conn.close()
    level = worst(found)
    if as_json:
        click.echo(json.dumps(status_document(found, now=now), indent=2, default=str))
    else:
        _print(found, fixes=fixes)
    sys.exit(1 if level == "fail" else 0)


def _open(settings: Settings) -> sqlite3.Connection | None:
    """The database, when there is one (status must not create it)."""
    if not settings.database_path.is_file():
        return None
    try:
        return connect(settings.database_path)
    except sqlite3.Error:
        return None  # each check that needs it then says there is no database


def _print(found: list[Component], *, fixes: bool) -> None:
    width = max(len(component.name) for component in found)
    for component in found:
        click.echo(f"{component.name:<{width}}  {component.level.upper():<4}  {component.reason}")
        if fixes and component.fix and component.level != "ok":
            click.echo(f"{'':<{width}}        fix: {component.fix}")
    counts = {level: sum(c.level == level for c in found) for level in ("warn", "fail")}
    click.echo(f"overall: {worst(found).upper()} ({counts['warn']} warnings, "
               f"{counts['fail']} failures)")  # fmt: skip
