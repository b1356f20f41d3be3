"""``editorial-assistant audit tail``: the latest audit entries, optionally following new ones."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from editorial_assistant.audit.events import Action
from editorial_assistant.audit.service import list_entries
from editorial_assistant.cli_support import CONTEXT, database_of

FOLLOW_INTERVAL_SECONDS = 1.0


@click.group(context_settings=CONTEXT)
def audit() -> None:
    """The audit log: who changed what, and every sign-in event."""


@audit.command("tail", context_settings=CONTEXT)
@click.option("-n", "--lines", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--action", type=click.Choice([a.value for a in Action]), help="Only this action.")
@click.option("--actor", help="Only this actor (e.g. alice, key:watch-folder, cli:root).")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new entries (Ctrl-C stops).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def audit_tail(
    ctx: click.Context,
    lines: int,
    action: str | None,
    actor: str | None,
    follow: bool,
    as_json: bool,
) -> None:
    """Print the latest entries, oldest first."""
    conn = database_of(ctx).conn()
    entries = list_entries(conn, limit=lines, action=action, actor=actor)[::-1]
    last = _print(entries, as_json)
    while follow:
        time.sleep(FOLLOW_INTERVAL_SECONDS)
        newer = list_entries(
            conn, limit=500, oldest_first=True, after_id=last, action=action, actor=actor
        )
        last = _print(newer, as_json) or last


def _print(entries: list[dict[str, Any]], as_json: bool) -> int:
    for entry in entries:
        click.echo(json.dumps(entry) if as_json else _line(entry))
    return entries[-1]["id"] if entries else 0


def _printable(text: str) -> str:
    """``text`` with control characters escaped: a failed sign-in records what was typed, and
    a terminal must not execute it."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _line(entry: dict[str, Any]) -> str:
    resource = f"{entry['resource_type']}:{entry['resource_id']}" if entry["resource_type"] else ""
    details = " ".join(f"{k}={v}" for k, v in entry["details"].items())
    where = f" from {entry['ip']}" if entry["ip"] else ""
    line = f"{entry['at'][:19]} {entry['actor']} {entry['action']} {resource} {details}{where}"
    return _printable(line.rstrip())
