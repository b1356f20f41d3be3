"""``editorial-assistant monitor run`` (the every-minute timer's command) and
``editorial-assistant alerts …``: what fires now, what was sent, and the ``OnFailure=`` hook.
"""

from __future__ import annotations

import json
import sys

import click

from editorial_assistant.cli_support import CONTEXT, database_of, reported_errors, settings_of
from editorial_assistant.db import utcnow
from editorial_assistant.monitoring.alerts import Condition, firing, list_notifications, observe
from editorial_assistant.monitoring.channels import deliver_pending


@click.group(context_settings=CONTEXT)
def monitor() -> None:
    """Judge the alert thresholds (docs/reference/metrics.md#alerts)."""


@monitor.command("run", context_settings=CONTEXT)
@click.pass_context
def monitor_run(ctx: click.Context) -> None:
    """Observe every threshold once, send what changed, ping the dead-man URL.

    The monitor timer runs it every minute. Exits 0 even when alerts fire (they are its
    output); 1 only when it could not run.
    """
    # Imported here: prometheus_client must not be loaded before the API sets up its
    # multiprocess folder (tests/monitoring/test_metrics.py keeps the CLI free of it).
    from editorial_assistant.monitoring.monitor import run_monitor

    settings, conn = settings_of(ctx), database_of(ctx).conn()
    with reported_errors():
        run = run_monitor(conn, settings=settings, now=utcnow())
    for notice in run.notices:
        click.echo(f"{notice.event:<9}{notice.key:<28}{notice.summary}")
    click.echo(f"{len(run.conditions)} conditions, {len(run.firing)} firing, "
               f"{run.delivered} notifications delivered")  # fmt: skip
    if run.deadman_error:
        click.echo(f"warning: the dead-man ping failed: {run.deadman_error}", err=True)


@click.group(context_settings=CONTEXT, invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("-n", "--limit", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="Notifications to list.")  # fmt: skip
@click.pass_context
def alerts(ctx: click.Context, as_json: bool, limit: int) -> None:
    """The alerts firing now and the latest notifications with how each was delivered.

    Exits 1 while any alert fires, so a script can call it as it is.
    """
    if ctx.invoked_subcommand is not None:
        return
    conn = database_of(ctx).conn()
    now_firing = [dict(row) for row in firing(conn)]
    sent = [dict(row) for row in list_notifications(conn, limit=limit)]
    if as_json:
        click.echo(json.dumps({"firing": now_firing, "notifications": sent}, indent=2))
    else:
        click.echo("firing: " + ("none" if not now_firing else str(len(now_firing))))
        for row in now_firing:
            click.echo(f"  {row['severity']:<9}{row['key']:<28}{row['summary']} "
                       f"(since {row['state_since']})")  # fmt: skip
        click.echo("notifications (newest first):")
        for row in sent:
            state = "delivered" if row["delivered_at"] else f"NOT delivered: {row['error']}"
            click.echo(f"  {row['at'][:19]}  {row['event']:<9}{row['alert_key']:<28}"
                       f"{row['channel']:<8}{state}")  # fmt: skip
    sys.exit(1 if now_firing else 0)


@alerts.command("unit-failed", context_settings=CONTEXT)
@click.argument("unit")
@click.pass_context
def alerts_unit_failed(ctx: click.Context, unit: str) -> None:
    """Raise the alert for UNIT having failed (each unit's OnFailure= runs this)."""
    if not unit.startswith("editorial-assistant") or "/" in unit:
        raise click.BadParameter("only units of ours (editorial-assistant*)", param_hint="UNIT")
    settings, conn = settings_of(ctx), database_of(ctx).conn()
    now = utcnow()
    failed = Condition(f"unit.{unit}", True, f"{unit} failed: see journalctl -u {unit}",
                       "critical", settles=False)  # fmt: skip
    with reported_errors():
        observe(conn, settings=settings, conditions=[failed], now=now)
        delivered = deliver_pending(conn, settings=settings, now=now)
    click.echo(f"alert unit.{unit}: {delivered} notifications delivered")
