"""``editorial-assistant costs``: the month-to-date summary in a terminal, and ``costs report``:
a whole month's report as Markdown, CSV or JSON, printed or written to a file."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO

import click

from editorial_assistant.cli_support import CONTEXT, database_of, reported_errors, settings_of
from editorial_assistant.config import Settings
from editorial_assistant.costs.period import InvalidMonth, parse_month
from editorial_assistant.costs.rendering import FORMATS, render_report
from editorial_assistant.costs.service import cost_summary, monthly_report
from editorial_assistant.db import Database, utcnow


@click.group(context_settings=CONTEXT, invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def costs(ctx: click.Context, as_json: bool) -> None:
    """Show this month's LLM spend against the budget, by phase, model and day.

    `costs report` gives a whole month's report (docs/guides/costs.md).
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_of(ctx)
    with reported_errors():
        print_costs(settings, database_of(ctx), now=utcnow(), as_json=as_json, echo=click.echo)


def _month_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    try:
        return parse_month(value, now=utcnow()).label
    except InvalidMonth as exc:
        raise click.BadParameter(exc.message) from None


@costs.command(
    "report", short_help="A month's cost report as Markdown, CSV or JSON.", context_settings=CONTEXT
)
@click.option(
    "--month",
    callback=_month_option,
    metavar="YYYY-MM",
    help="The month (UTC), this one or an earlier one. Default: the current month.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="markdown",
    show_default=True,
    help="Markdown to read, CSV for a spreadsheet, JSON for a program.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, resolve_path=True, path_type=Path),
    help="Write the report to this file instead of printing it.",
)
@click.pass_context
def costs_report(ctx: click.Context, month: str, fmt: str, output: Path | None) -> None:
    """A month's LLM spend by day, phase, model and tier; cost per job (median, p90) and per
    programme minute; the projection; and the hosting comparison (home VM, station VM, cloud
    VM, VPS)."""
    with _destination(output) as out:
        settings = settings_of(ctx)
        conn = database_of(ctx).conn()
        with reported_errors():
            report = monthly_report(conn, month=month, now=utcnow(), settings=settings)
        text = render_report(report, fmt=fmt)
        if out is None:
            click.echo(text, nl=False)
            return
        out.write(text)
    click.echo(f"wrote the {report['month']} cost report to {output}", err=True)


@contextmanager
def _destination(output: Path | None) -> Iterator[IO[str] | None]:
    """Standard output, or ``output`` opened now: before a verb run with sudo becomes the
    service user, so the file lands where the operator asked. Removed again on failure."""
    if output is None:
        yield None
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        try:
            yield handle
        except BaseException:
            output.unlink(missing_ok=True)
            raise


def print_costs(
    settings: Settings, db: Database, *, now: datetime, as_json: bool, echo: Callable[..., None]
) -> None:
    """Print month to date, the budget, the projection and the breakdowns."""
    summary = cost_summary(
        db.conn(),
        now=now,
        monthly_budget=settings.budget.monthly_usd,
        job_cap=settings.budget.job_cap_usd,
    )
    if as_json:
        echo(json.dumps(summary, indent=2))
        return
    echo(
        f"{summary['month']}: ${summary['spent_usd']:.4f} of ${summary['budget_usd']:.2f} "
        f"spent, ${summary['remaining_usd']:.4f} left, projected ${summary['projected_usd']:.2f}"
        f"; per-job cap ${summary['job_cap_usd']:.2f}"
    )
    for key, title in (("by_phase", "phase"), ("by_model", "model"), ("by_day", "day")):
        echo(f"\nby {title}:")
        for row in summary[key]:
            echo(f"  {row['name']:<40} {row['calls']:>6} calls  ${row['cost_usd']:.4f}")
