"""The ``editorial-assistant`` command: run the service, manage jobs, check the configuration.

Each verb parses its arguments, calls a service function and prints the result; errors are
printed as ``error: …`` with a hint, never as a traceback, and the exit status says what
happened (0 ok, 1 a request failed, 2 bad usage or configuration).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from editorial_assistant import __version__
from editorial_assistant.audit.commands import audit
from editorial_assistant.audit.events import Action
from editorial_assistant.audit.service import record
from editorial_assistant.auth.commands import api_key, bootstrap_admin, project, user
from editorial_assistant.backups.commands import backup
from editorial_assistant.backups.restore_commands import litestream, restore
from editorial_assistant.cli_support import (
    CONTEXT,
    database_of,
    operator,
    reported_errors,
    settings_of,
)
from editorial_assistant.config import load_settings
from editorial_assistant.costs.commands import costs
from editorial_assistant.db import Database, latest_version, schema_version, transaction, utcnow
from editorial_assistant.db import migrate as run_migrations
from editorial_assistant.errors import ConfigError
from editorial_assistant.monitoring.alert_commands import alerts, monitor
from editorial_assistant.monitoring.commands import doctor, status
from editorial_assistant.ops.commands import tunnel
from editorial_assistant.ops.secret_commands import secret

_reported_errors = reported_errors
_settings = settings_of


@click.group(name="editorial-assistant", context_settings=CONTEXT)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Read this TOML file instead of /etc/editorial-assistant/editorial-assistant.toml"
    " (same as EA_CONFIG).",
)
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """Editorial Assistant: caption files in, LLM-drafted editorial material out."""
    ctx.ensure_object(dict)
    ctx.obj["config"] = config


@cli.command(context_settings=CONTEXT)
def version() -> None:
    """Print the version."""
    click.echo(f"editorial-assistant {__version__}")


@cli.command(context_settings=CONTEXT)
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Create or upgrade the database schema (safe to run again)."""
    settings = _settings(ctx)
    with _reported_errors():
        applied = run_migrations(settings.database_path, snapshot_dir=settings.snapshot_dir)
    if applied:
        _audit(ctx, Action.SCHEMA_MIGRATED, "database", details={"applied": applied})
    click.echo(f"applied {', '.join(applied)}" if applied else "database is up to date")


@cli.command("wait-ready", context_settings=CONTEXT)
@click.option(
    "--timeout",
    type=click.FloatRange(0, 3600),
    default=60,
    show_default=True,
    help="Seconds to keep asking.",
)
@click.option("--uds", type=click.Path(dir_okay=False, path_type=Path), help="Ask this socket.")
@click.pass_context
def wait_ready(ctx: click.Context, timeout: float, uds: Path | None) -> None:
    """Wait until the API answers /readyz (the API unit's ExecStartPost); exit 1 on timeout."""
    from editorial_assistant.ops.probe import Endpoint
    from editorial_assistant.ops.probe import wait_ready as wait

    endpoint = Endpoint.of(_settings(ctx), uds=uds)
    problem = wait(endpoint, timeout=timeout)
    if problem is not None:
        click.echo(f"error: not ready after {timeout:g} s: {problem}", err=True)
        sys.exit(1)
    click.echo(f"ready: {endpoint}")


def _listen_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--workers",
        type=click.IntRange(1, 64),
        default=None,
        help="gunicorn worker processes (default: api.workers).",
    )(func)
    func = click.option(
        "--uds",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Listen on this Unix socket instead of TCP.",
    )(func)
    func = click.option(
        "--port", type=click.IntRange(1, 65535), default=None, help="TCP port (default: api.port)."
    )(func)
    return click.option("--host", default=None, help="Address to bind (default: api.host).")(func)


@cli.command(context_settings=CONTEXT)
@_listen_options
@click.pass_context
def api(
    ctx: click.Context, host: str | None, port: int | None, uds: Path | None, workers: int | None
) -> None:
    """Run the HTTP API under gunicorn (what the systemd unit runs)."""
    from editorial_assistant.serving import run_api

    with _reported_errors():
        run_api(_settings(ctx), host=host, port=port, uds=uds, workers=workers)


@cli.command(context_settings=CONTEXT)
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run the job worker (a Huey consumer)."""
    from editorial_assistant.worker import run_worker

    with _reported_errors():
        run_worker(_settings(ctx))


@cli.command(context_settings=CONTEXT)
@_listen_options
@click.pass_context
def serve(
    ctx: click.Context, host: str | None, port: int | None, uds: Path | None, workers: int | None
) -> None:
    """Migrate, then run the API and a worker together (for development)."""
    from editorial_assistant.serving import run_together

    settings = _settings(ctx)
    with _reported_errors():
        run_migrations(settings.database_path, snapshot_dir=settings.snapshot_dir)
        base = f"http://{host or settings.api.host}:{port or settings.api.port}"
        bootstrap_admin(settings, base=None if uds else base, echo=click.echo)
        run_together(
            settings, host=host, port=port, uds=uds, workers=workers, config=ctx.obj["config"]
        )


@cli.command(context_settings=CONTEXT)
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--priority",
    type=click.IntRange(-100, 100),
    default=0,
    show_default=True,
    help="Higher runs first.",
)
@click.option("--force", is_flag=True, help="Process even if the Media ID already has a job.")
@click.option("--timestamps", is_flag=True, help="Run the chapters phase for any length.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file.")
@click.pass_context
def submit(
    ctx: click.Context,
    files: tuple[Path, ...],
    priority: int,
    force: bool,
    timestamps: bool,
    as_json: bool,
) -> None:
    """Queue caption files for processing; exits 1 if any file was refused."""
    from editorial_assistant.transcripts.commands import submit_files

    settings = _settings(ctx)
    with _reported_errors():
        refused = submit_files(
            settings,
            files,
            priority=priority,
            force=force,
            timestamps=timestamps,
            as_json=as_json,
            who=operator(),
            echo=click.echo,
        )
    sys.exit(1 if refused else 0)


@cli.group(context_settings=CONTEXT)
def jobs() -> None:
    """List, inspect and act on jobs."""


@jobs.command("list", context_settings=CONTEXT)
@click.option("--status", default=None, help="Only jobs in this state.")
@click.option("--search", default=None, help="Media ID or file name contains.")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def jobs_list(
    ctx: click.Context, status: str | None, search: str | None, limit: int, as_json: bool
) -> None:
    """List jobs, newest first."""
    from editorial_assistant.jobs.commands import print_job_list

    with _reported_errors():
        print_job_list(
            _database(ctx),
            status=status,
            search=search,
            limit=limit,
            as_json=as_json,
            echo=click.echo,
        )


@jobs.command("show", context_settings=CONTEXT)
@click.argument("job_id", type=click.IntRange(1, 2**62))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def jobs_show(ctx: click.Context, job_id: int, as_json: bool) -> None:
    """Show one job with its phases and outputs."""
    from editorial_assistant.jobs.commands import print_job

    with _reported_errors():
        print_job(_database(ctx), job_id=job_id, as_json=as_json, echo=click.echo)


def _action_command(name: str, summary: str) -> None:
    @jobs.command(name, help=summary)
    @click.argument("job_id", type=click.IntRange(1, 2**62))
    @click.pass_context
    def command(ctx: click.Context, job_id: int) -> None:
        from editorial_assistant.jobs.commands import act

        with _reported_errors():
            act(
                _settings(ctx),
                _database(ctx),
                name,
                job_id=job_id,
                who=operator(),
                now=utcnow(),
                echo=click.echo,
            )


for _name, _summary in (
    ("pause", "Pause a job (a running job stops after its current step)."),
    ("resume", "Put a paused job back in the queue."),
    ("cancel", "Cancel a job; it writes no further output."),
    ("retry", "Retry a failed, cancelled or paused job."),
):
    _action_command(_name, _summary)


@jobs.command("retry-phase", context_settings=CONTEXT)
@click.argument("job_id", type=click.IntRange(1, 2**62))
@click.argument("phase")
@click.option(
    "--tier",
    type=click.IntRange(0, 2),
    default=None,
    help="Force a tier: 0 cheap, 1 default, 2 strong.",
)
@click.pass_context
def jobs_retry_phase(ctx: click.Context, job_id: int, phase: str, tier: int | None) -> None:
    """Run one phase of a job again; the previous output is kept."""
    from editorial_assistant.jobs.commands import retry_one_phase

    with _reported_errors():
        retry_one_phase(
            _settings(ctx),
            _database(ctx),
            job_id=job_id,
            phase=phase,
            tier=tier,
            who=operator(),
            now=utcnow(),
            echo=click.echo,
        )


@cli.group(context_settings=CONTEXT)
def models() -> None:
    """The OpenRouter models and their prices."""


@models.command("refresh", context_settings=CONTEXT)
@click.pass_context
def models_refresh(ctx: click.Context) -> None:
    """Fetch current prices from OpenRouter's models endpoint into the price table."""
    from editorial_assistant.llm.prices import refresh_prices

    settings = _settings(ctx)
    path = settings.data_dir / settings.models.prices_file
    with _reported_errors():
        count = refresh_prices(
            base_url=settings.llm.openrouter_base_url,
            path=path,
            now=utcnow(),
            api_key=settings.secret("openrouter_api_key"),
        )
    _audit(ctx, Action.PRICES_REFRESHED, "prices", details={"models": count, "file": str(path)})
    click.echo(f"wrote prices of {count} models to {path}")


@cli.group(context_settings=CONTEXT)
def config() -> None:
    """Inspect the configuration."""


@config.command("check", context_settings=CONTEXT)
@click.pass_context
def config_check(ctx: click.Context) -> None:
    """Validate the configuration; print every problem with the setting's name."""
    try:
        settings = load_settings(config_file=ctx.obj["config"])
    except ConfigError as exc:
        click.echo(exc.message, err=True)
        sys.exit(2)
    from editorial_assistant.llm.factory import backend_name

    sources = ", ".join(settings.sources) or "defaults and environment only"
    click.echo(f"configuration OK ({sources}); data in {settings.data_dir}")
    backend = backend_name(settings)
    has_key = settings.secret("openrouter_api_key") is not None
    note = "" if backend == "local" or has_key else " (warning: no openrouter_api_key is set)"
    click.echo(f"LLM backend: {backend}{note}")


@config.command("show", context_settings=CONTEXT)
@click.pass_context
def config_show(ctx: click.Context) -> None:
    """Print the effective settings as JSON (secrets are never included)."""
    click.echo(json.dumps(_settings(ctx).model_dump(mode="json"), indent=2))


_database = database_of


def _audit(ctx: click.Context, action: Action, resource_type: str, **kw: Any) -> None:
    """Record a change made outside the database (there is no log to write before migrating)."""
    conn = Database(_settings(ctx).database_path).conn()
    if schema_version(conn) != latest_version():
        return
    with transaction(conn):
        record(conn, who=operator(), action=action, now=utcnow(), resource_type=resource_type, **kw)


for _group in (tunnel, user, api_key, project, audit, secret, backup, litestream, restore, costs):
    cli.add_command(_group)
for _command in (status, doctor):
    cli.add_command(_command)
cli.add_command(monitor)
cli.add_command(alerts)


def main() -> None:
    """Console-script entry point."""
    cli(obj={})
