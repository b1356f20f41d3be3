"""``editorial-assistant backup …``: run the daily backup, create the restic repository, and see
how backups stand. ``run`` exits 0 when the run was ``ok``, 3 when it ended with warnings (a
snapshot was made, but not of everything), 1 when it failed; ``status`` exits 1 when anything
needs attention, so a monitoring script can call it as it is.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from types import FrameType
from typing import Any

import click

from editorial_assistant.backups.drill import run_drill
from editorial_assistant.backups.health import backup_status
from editorial_assistant.backups.records import list_runs
from editorial_assistant.backups.restic import init_repository, probe_repository
from editorial_assistant.backups.service import run_backup
from editorial_assistant.cli_support import CONTEXT, database_of, reported_errors, settings_of
from editorial_assistant.db import utcnow

EXIT = {"ok": 0, "warning": 3, "failed": 1}
trigger_option = click.option(
    "--trigger",
    type=click.Choice(["manual", "timer"]),
    default="manual",
    show_default=True,
    help="Who started it (the timer's service passes timer).",
)


@click.group(context_settings=CONTEXT)
def backup() -> None:
    """Daily database snapshots and the encrypted restic archive (docs/guides/backups.md)."""


@backup.command("run", context_settings=CONTEXT)
@trigger_option
@click.pass_context
def backup_run(ctx: click.Context, trigger: str) -> None:
    """Snapshot the database and archive it with restic, as the daily timer does.

    Exits 0 when the run is ok, 3 when it ended with warnings, 1 when it failed.
    """
    settings = settings_of(ctx)
    conn = database_of(ctx).conn()
    with reported_errors(), _stopped_by_sigterm():
        run = run_backup(settings, conn, trigger=trigger, now=utcnow())
    _report(run)
    sys.exit(EXIT[run["result"]])


@backup.command("drill", context_settings=CONTEXT)
@trigger_option
@click.pass_context
def backup_drill(ctx: click.Context, trigger: str) -> None:
    """Restore the newest Litestream replica and restic snapshot to scratch space and prove them,
    as the weekly timer does; the live database is never touched.

    Exits 0 when every source passed, 3 when one is not set up, 1 when one failed.
    """
    settings = settings_of(ctx)
    conn = database_of(ctx).conn()
    with reported_errors(), _stopped_by_sigterm():
        run = run_drill(settings, conn, trigger=trigger, clock=utcnow)
    verdict = {"ok": "passed", "warning": "passed with warnings", "failed": "FAILED"}
    click.echo(f"restore drill {run['id']} {verdict[run['result']]}")
    for name, check in run["details"].items():
        click.echo(f"  {name:<11}{check['outcome']:<8}{check['said']}")
    sys.exit(EXIT[run["result"]])


@backup.command("init", context_settings=CONTEXT)
@click.pass_context
def backup_init(ctx: click.Context) -> None:
    """Create the restic repository named by backup.restic_repository (once, by hand).

    A backup run never creates one: if the real repository is unreachable, a new empty one must
    not quietly take its place.
    """
    settings = settings_of(ctx)
    with reported_errors():
        found = init_repository(settings)
    done = "created" if found["created"] else "already exists; nothing to do"
    click.echo(f"restic repository {found['repository_id'][:8]} at {found['repository']}: {done}")
    if found["created"]:
        click.echo("Keep a copy of the password (restic_password) away from this machine:")
        click.echo("without it the repository cannot be read.")


@backup.command("status", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def backup_status_command(ctx: click.Context, as_json: bool) -> None:
    """Are backups healthy? The last runs, the age of the last good one, the repository.

    Exits 1 when something needs attention (listed under problems).
    """
    settings = settings_of(ctx)
    status = backup_status(database_of(ctx).conn(), settings=settings, now=utcnow())
    probe = probe_repository(settings) if settings.backup.restic_repository else None
    if probe and not probe["reachable"]:
        status["healthy"] = False
        status["problems"].append(f"the restic repository cannot be opened: {probe['error']}")
    if as_json:
        click.echo(json.dumps({**status, "repository": probe}, indent=2))
    else:
        _print_status(status, probe)
    sys.exit(0 if status["healthy"] else 1)


@backup.command("list", context_settings=CONTEXT)
@click.option("-n", "--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def backup_list(ctx: click.Context, limit: int, as_json: bool) -> None:
    """The latest backup runs (and restore drills and restores), newest first."""
    runs = list_runs(database_of(ctx).conn(), limit=limit)
    if as_json:
        click.echo(json.dumps(runs, indent=2))
        return
    click.echo(f"{'ID':>5}  {'KIND':<8}{'TRIGGER':<8}{'STARTED (UTC)':<18}{'RESULT':<9}"
               f"{'SNAPSHOT':<32}{'RESTIC':<10}{'ADDED':>9}")  # fmt: skip
    for run in runs:
        click.echo(
            f"{run['id']:>5}  {run['kind']:<8}{run['trigger']:<8}{_when(run['started_at']):<18}"
            f"{run['result']:<9}{run['snapshot_file'] or '-':<32}"
            f"{run['restic_snapshot_id'] or '-':<10}{_size(run['bytes_added']):>9}"
        )


def _report(run: dict[str, Any]) -> None:
    seconds = sum(run["details"].get("seconds", {}).values())
    if run["result"] == "failed":
        click.echo(f"error: backup {run['id']} failed: {run['error']}", err=True)
        if run["details"].get("hint"):
            click.echo(f"hint: {run['details']['hint']}", err=True)
    elif run["result"] == "warning":
        click.echo(f"warning: backup {run['id']} finished with warnings: {run['error']}", err=True)
    else:
        click.echo(f"backup {run['id']} ok in {seconds:.1f} s")
    if run["snapshot_file"]:
        click.echo(f"  snapshot  {run['snapshot_file']} ({_size(run['snapshot_bytes'])})")
    if run["restic_snapshot_id"]:
        added = _size(run["bytes_added"])
        click.echo(f"  restic    snapshot {run['restic_snapshot_id']}, {added} added")
    archived = run["details"].get("archived") or {}
    if archived.get("jobs"):
        jobs, files = len(archived["jobs"]), archived["files"]
        click.echo(
            f"  archived  outputs of {jobs} job(s): {files} files, {_size(archived['bytes'])}"
        )
    if run["details"].get("restic"):
        click.echo(f"  restic    {run['details']['restic']}")


def _print_status(status: dict[str, Any], probe: dict[str, Any] | None) -> None:
    click.echo("backups: " + ("healthy" if status["healthy"] else "NEED ATTENTION"))
    for problem in status["problems"]:
        click.echo(f"  - {problem}")
    last, good = status["last_run"], status["last_good"]
    if last:
        click.echo(f"last run:   {last['id']} {last['result']}, {_when(last['started_at'])} UTC "
                   f"({last['trigger']})")  # fmt: skip
    if good:
        age, limit = status["last_good_age_hours"], status["max_age_hours"]
        click.echo(f"last good:  {good['id']}, {_when(good['started_at'])} UTC ({age:g} h ago; "
                   f"limit {limit:g} h)")  # fmt: skip
    drill = status["drill"]
    if drill["last_good"]:
        click.echo(f"last drill: {drill['last_good']['id']} passed, "
                   f"{_when(drill['last_good']['started_at'])} UTC "
                   f"({drill['last_good_age_days']:g} days ago)")  # fmt: skip
    else:
        click.echo("last drill: none passed yet (editorial-assistant backup drill)")
    where = status["restic_repository"] or "not set up"
    if probe and probe["reachable"]:
        where += f" (opens: ID {probe['repository_id'][:8]}, restic {probe['restic_version']})"
    elif probe:
        where += f" (cannot be opened: {probe['code']})\n  hint: {probe['hint']}"
    click.echo(f"repository: {where}")
    if status["running"]:
        click.echo("a backup is running now")


def _when(moment: str | None) -> str:
    return datetime.fromisoformat(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _size(count: int | None) -> str:
    if count is None:
        return "-"
    size, unit = float(count), "B"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            break
        size /= 1000
    return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"


@contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    """systemd stops a run with SIGTERM: let it end like Ctrl-C, so the run is recorded."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    except KeyboardInterrupt:
        click.echo("error: interrupted; the run is recorded as failed", err=True)
        sys.exit(130)
    finally:
        signal.signal(signal.SIGTERM, previous)
