"""``editorial-assistant tunnel …``: check the cloudflared configuration without cloudflared."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import click

from editorial_assistant.cli_support import CONTEXT
from editorial_assistant.ops.tunnel import (
    DEFAULT_CONFIG,
    FILE_KEY,
    Problem,
    TunnelConfigUnreadable,
    check_tunnel_text,
    read_tunnel_config,
)


@click.group(context_settings=CONTEXT)
def tunnel() -> None:
    """The Cloudflare Tunnel in front of the service."""


@tunnel.command("check", context_settings=CONTEXT)
@click.option(
    "--config",
    "path",
    type=click.Path(path_type=Path),
    default=DEFAULT_CONFIG,
    envvar="EA_TUNNEL_CONFIG",
    show_default=True,
    help="The cloudflared configuration to check (same as EA_TUNNEL_CONFIG).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def tunnel_check(path: Path, as_json: bool) -> None:
    """Check the cloudflared configuration (no cloudflared needed).

    Prints one line per problem with the key it concerns, then a summary. Exit status: 0 no
    errors (warnings allowed), 1 errors, 2 the file cannot be read.
    """
    sys.exit(print_tunnel_check(path, as_json=as_json, echo=click.echo))


def print_tunnel_check(path: Path, *, as_json: bool, echo: Callable[..., None]) -> int:
    """Print one line per problem and a summary; return the exit status."""
    try:
        problems = check_tunnel_text(read_tunnel_config(path))
        status = 1 if any(p.severity == "error" for p in problems) else 0
    except TunnelConfigUnreadable as exc:
        problems, status = [Problem("error", FILE_KEY, exc.message, exc.hint)], 2
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if as_json:
        body = {"path": str(path), "ok": status == 0, "errors": errors, "warnings": warnings}
        echo(json.dumps({**body, "problems": [asdict(p) for p in problems]}, indent=2))
        return status
    for problem in problems:
        echo(problem.line())
    verdict = "OK" if status == 0 else "NOT OK"
    echo(f"{path}: {verdict}, {errors} error(s), {warnings} warning(s)")
    return status
