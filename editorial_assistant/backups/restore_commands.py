"""``editorial-assistant restore`` and ``editorial-assistant litestream …``: the front doors.

``restore`` is the one command IT runs when the database is lost: it stops the units that use
the database (under systemd; elsewhere it says what to stop), fetches the copy to a side path,
has ``backups.restore`` prove it, compare it and swap it in, starts again what it stopped, and
prints each step. Litestream's restore runs as root (its credentials are root's); everything
that writes in the data folder runs as the folder's owner, in a child process when the command
was started as root, so no file there ends up belonging to root.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import click

from editorial_assistant.backups import restore as steps
from editorial_assistant.backups.litestream import (
    UNIT,
    ReplicationStatus,
    replicate,
    replication_status,
)
from editorial_assistant.backups.lock import exclusive
from editorial_assistant.backups.restore import Kind, Source
from editorial_assistant.cli_support import CONTEXT, become_data_owner, reported_errors, settings_of
from editorial_assistant.config import Settings, load_settings
from editorial_assistant.db import utcnow
from editorial_assistant.errors import AppError

# Stopped in this order (the API's socket first, so no request starts the API again; Litestream
# last, so it replicates the worker's last writes), started in the reverse order.
UNITS = (
    "editorial-assistant-api.socket",
    "editorial-assistant-api.service",
    "editorial-assistant-worker.service",
    UNIT,
)
DEVELOPMENT = (
    "   not under systemd: stop `editorial-assistant serve` (or `api` and `worker`) and any "
    "`litestream replicate` yourself first"
)
PLAN = ("stopping", "fetching", "checking", "comparing", "swapping", "recording", "starting")
FAILED, LIVE_UNUSABLE = 1, 4  # exit codes of the work done as the data folder's owner
Echo = Callable[[str], None]


class Units:
    """The service's units, through ``systemctl``; nothing to do when systemd does not run them."""

    def __init__(self, run: Any = subprocess.run, manager: Path = Path("/run/systemd/system")):
        self.run, self.manager = run, manager

    def systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``systemctl ARGS``, capturing its output."""
        done: subprocess.CompletedProcess[str] = self.run(
            ["systemctl", *args], capture_output=True, text=True, check=False
        )
        return done

    def managed(self) -> bool:
        """Whether systemd runs the service here (the package is installed and systemd is up)."""
        if not self.manager.is_dir():
            return False
        shown = self.systemctl("show", "--property=LoadState", "--value", UNITS[1])
        return shown.stdout.strip() == "loaded"

    def state(self, unit: str) -> str:
        """``active``, ``inactive``, ``failed`` …"""
        return self.systemctl("is-active", unit).stdout.strip() or "unknown"

    def stop(self, echo: Echo, stopped: list[str]) -> None:
        """Stop the active units, in order, noting each in ``stopped`` as it goes."""
        if not self.managed():
            echo(DEVELOPMENT)
            return
        if os.geteuid() != 0:
            raise AppError("Stopping the service needs root.", hint="Run it with sudo.")
        for unit in [unit for unit in UNITS if self.state(unit) == "active"]:
            done = self.systemctl("stop", unit)
            if done.returncode != 0:
                raise AppError(f"systemctl stop {unit} failed: {done.stderr.strip()}")
            stopped.append(unit)
        echo(f"   stopped {', '.join(stopped) or 'nothing (nothing was running)'}")

    def start(self, units: list[str], echo: Echo) -> None:
        """Start ``units`` again, in the reverse order."""
        for unit in reversed(units):
            done = self.systemctl("start", unit)
            said = "started" if done.returncode == 0 else f"FAILED: {done.stderr.strip()}"
            echo(f"   {unit}: {said}")


@dataclass
class Restore:
    """One restore under way: its copy's side paths, its numbered steps, how it ends."""

    settings: Settings
    source: Source
    force: bool
    dry_run: bool
    now: datetime
    echo: Echo
    fetched: dict[str, Any] | None = None
    stamp: str = field(init=False)

    def __post_init__(self) -> None:
        self.stamp = self.now.strftime("%Y%m%dT%H%M%SZ")
        self.side = self.settings.data_dir / f".restore-{self.stamp}.db"
        self.tree = self.settings.data_dir / f".restore-{self.stamp}-restic"

    def step(self, title: str) -> None:
        """A headline numbered by its place in the plan, ``3. checking the copy`` (a count would
        not do: the middle steps may run in a child process)."""
        plan = PLAN[1:4] if self.dry_run else PLAN
        self.echo(f"{plan.index(title.removeprefix('NOT ').split()[0]) + 1}. {title}")

    def run(self, units: Units) -> int:
        """Stop, fetch, put back, start again; 0 when restored (or, dry run, checked)."""
        began, stopped, code = time.monotonic(), list[str](), FAILED
        try:
            if not self.dry_run:
                self.step("stopping what uses the database")
                units.stop(self.echo, stopped)
            if self.source.kind == "litestream":  # as root: Litestream's credentials are root's
                code = self.fetch_as_root()
            if self.source.kind != "litestream" or code == 0:
                code = as_data_owner(self.settings, self.put_back_or_report)
        finally:
            self.clean_up()
            if stopped:
                self.restart(units, stopped, code)
        said = "done" if code == 0 else "NOT restored"
        self.echo(f"{said} in {time.monotonic() - began:.1f} s")
        return 0 if code == 0 else 1

    def fetch_as_root(self) -> int:
        self.step(f"fetching the copy from {self.source.describe()}")
        try:
            self.fetched = steps.fetch_copy(self.settings, self.source, self.side, tree=self.tree)
        except AppError as exc:
            failure = exc
            return as_data_owner(self.settings, lambda: self.report(failure))
        hand_over(self.side, self.settings.data_dir)
        return 0

    def put_back_or_report(self) -> int:
        """``put_back`` (one restore or backup at a time); a refusal is printed and recorded."""
        try:
            with exclusive(self.settings.data_dir):
                self.put_back()
        except AppError as exc:
            return self.report(exc)
        except (OSError, sqlite3.Error) as exc:  # a full disk, a file that vanished
            return self.report(AppError(f"{type(exc).__name__}: {exc}", code="restore_failed"))
        return 0

    def put_back(self) -> None:
        """Fetch (unless done), check, compare, swap, migrate, bring files back, record."""
        live, echo = self.settings.database_path, self.echo
        if self.fetched is None:
            self.step(f"fetching the copy from {self.source.describe()}")
            self.fetched = steps.fetch_copy(self.settings, self.source, self.side, tree=self.tree)
        echo(f"   fetched {self.side.stat().st_size:,} bytes to {self.side}")
        self.step("checking the copy")
        copy = steps.check_copy(self.side, echo)
        self.step("comparing it with the live database and the newest daily snapshot")
        steps.refuse_loss(live, steps.live_facts(live), copy, force=self.force, echo=echo)
        steps.refuse_fewer_jobs(self.settings.snapshot_dir, copy, force=self.force, echo=echo)
        if self.dry_run:
            echo("dry run: the copy is good; nothing was stopped or changed")
            return
        self.step("swapping it in")
        kept = steps.swap(live, self.side, stamp=self.stamp, echo=echo)
        steps.migrate_copy(live, copy, snapshot_dir=self.settings.snapshot_dir, echo=echo)
        tree, data_dir = self.tree, self.settings.data_dir
        files = steps.restore_files(tree, data_dir, echo=echo) if tree.exists() else None
        self.step("recording the restore")
        details = {**self.fetched, "replaced": kept.name if kept else None, "files": files}
        fields = {
            k: details.pop(k) for k in ("snapshot_file", "restic_snapshot_id") if k in details
        }
        run_id = steps.record_restore(
            live, source=self.source, now=self.now, details={**details, "copy": copy.line()},
            **fields,
        )  # fmt: skip
        echo(f"   restore run {run_id} is in the restored database (backup_runs)")

    def report(self, exc: AppError) -> int:
        """Print why the restore stopped and note it in the live database (so, as the data
        folder's owner); the exit code, which says whether the live database is usable."""
        self.echo(f"error: {exc.message}")
        self.echo(f"hint: {exc.hint or 'see docs/guides/restore.md'}")
        live = self.settings.database_path
        steps.record_failure(live, source=self.source, now=self.now, error=exc)
        return LIVE_UNUSABLE if isinstance(steps.live_facts(live), str) else FAILED

    def clean_up(self) -> None:
        for end in ("", ".partial", "-wal", "-shm"):
            Path(f"{self.side}{end}").unlink(missing_ok=True)
        shutil.rmtree(self.tree, ignore_errors=True)

    def restart(self, units: Units, stopped: list[str], code: int) -> None:
        """Start what was stopped, unless the live database cannot be used."""
        if code == LIVE_UNUSABLE:
            self.step("NOT starting the service: the live database is missing or damaged")
            self.echo(
                f"   restore a copy that works, then: sudo systemctl start {' '.join(stopped)}"
            )
            return
        self.step("starting what was stopped")
        units.start(stopped, self.echo)


def run_restore(settings: Settings, source: Source, *, units: Units, **options: Any) -> int:
    """The whole restore (options: force, dry_run, echo, now); its exit status."""
    return Restore(settings, source, **options).run(units)


def hand_over(path: Path, data_dir: Path) -> None:
    """Give a file root made in the data folder to the folder's owner."""
    owner = data_dir.stat()
    if os.geteuid() == 0 and path.exists():
        os.chown(path, owner.st_uid, owner.st_gid)
        path.chmod(0o640)


def as_data_owner(settings: Settings, work: Callable[[], int]) -> int:
    """Run ``work`` as the data folder's owner: in a child process when we are root and it is
    someone else; here otherwise. Its exit code."""
    if os.geteuid() != 0 or settings.data_dir.stat().st_uid == 0:
        return work()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child (tests see its exit code and output)
        code = FAILED
        try:
            settings.remember_secrets(["restic_password"])
            become_data_owner(settings)
            code = work()
        except BaseException:  # the parent only sees the exit code: say what happened
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--from",
    "kind",
    type=click.Choice(["litestream", "snapshot", "restic", "file"]),
    required=True,
    help="litestream: the continuous replica; snapshot: a daily snapshot on this disk; restic: "
    "the encrypted archive (also brings back missing transcripts and outputs); file: a database "
    "file, such as the replaced-<time>.db a restore kept (to undo it).",
)
@click.argument("which", required=False, metavar="[DATE|SNAPSHOT|FILE]")
@click.option(
    "--timestamp",
    help="With --from litestream: the state at this time (2025-03-01T02:45:00Z; without a zone, "
    "this machine's time). Default: the newest state.",
)
@click.option("--force", is_flag=True, help="Replace a live database that holds newer changes.")
@click.option("--yes", is_flag=True, help="Do not ask before stopping the service.")
@click.option("--dry-run", is_flag=True, help="Fetch and check the copy only; change nothing.")
@click.pass_context
def restore(ctx: click.Context, kind: str, which: str | None, timestamp: str | None,
            force: bool, yes: bool, dry_run: bool) -> None:  # fmt: skip
    """Replace the database with a backup copy (docs/guides/restore.md).

    DATE (--from snapshot) is a day such as 2025-03-01 (UTC) or `latest`, the default; SNAPSHOT
    (--from restic) is a restic snapshot ID or `latest`; FILE (--from file) is a path, or a name
    in the data folder. The replaced database is kept beside the new one as replaced-<time>.db.
    Exit status: 0 restored, 1 not, 2 bad usage.
    """
    if (kind == "litestream" and which) or (timestamp and kind != "litestream"):
        raise click.UsageError("--from litestream takes --timestamp, the others a DATE, "
                               "SNAPSHOT or FILE")  # fmt: skip
    if kind == "file" and not which:
        raise click.UsageError("--from file needs the database file to restore")
    settings = _settings(ctx)
    source = Source(cast(Kind, kind), timestamp if kind == "litestream" else which)
    if not (dry_run or yes):
        click.confirm(f"Stop the service and replace its database with {source.describe()}?",
                      abort=True)  # fmt: skip
    with reported_errors():
        status = run_restore(settings, source, units=Units(), force=force, dry_run=dry_run,
                             echo=click.echo, now=utcnow())  # fmt: skip
    sys.exit(status)


def _settings(ctx: click.Context) -> Settings:
    """The settings, read as the caller: the restore stays root until it has stopped units."""
    obj = ctx.find_root().obj or {}
    with reported_errors():
        return load_settings(config_file=obj.get("config"))


@click.group(context_settings=CONTEXT)
def litestream() -> None:
    """Continuous replication of the database with Litestream."""


@litestream.command("replicate", context_settings=CONTEXT)
@click.pass_context
def litestream_replicate(ctx: click.Context) -> None:
    """Run Litestream on /etc/editorial-assistant/litestream.yml (what the unit runs)."""
    with reported_errors():
        click.echo(replicate(settings_of(ctx)))


@litestream.command("status", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def litestream_status(ctx: click.Context, as_json: bool) -> None:
    """Whether Litestream runs and the replica keeps up; exit 1 when it does not."""
    settings, units = _settings(ctx), Units()
    with reported_errors():
        state = units.state(UNIT) if units.managed() else None
        status = replication_status(settings, service=state)
    if as_json:
        click.echo(json.dumps(status.as_dict(), indent=2))
    else:
        for label, value in status_lines(status):
            click.echo(f"{label + ':':<10} {value}")
    sys.exit(1 if status.problems else 0)


def status_lines(status: ReplicationStatus) -> list[tuple[str, str]]:
    """(label, text) pairs for a person."""
    txids = f"database {status.local_txid}, replica {status.replica_txid}"
    return [
        ("replica", status.url or "(none: backup.litestream_replica_url is empty)"),
        ("binary", status.binary or "(not installed)"),
        ("service", status.service or "(not under systemd)"),
        ("metrics", "answering" if status.metrics is not None else "not answering"),
        ("position", f"{txids}; the replica last changed {status.replica_at or 'never'}"),
        ("verdict", "OK" if not status.problems else "PROBLEM: " + "; ".join(status.problems)),
    ]
