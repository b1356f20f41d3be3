"""Generating the CLI reference from the commands' own ``--help`` (kept current by a test)."""

from __future__ import annotations

import click
from click.testing import CliRunner

HEADER = """# CLI reference

Generated from `editorial-assistant … --help`; regenerate with
`.venv/bin/python -m editorial_assistant.ops.reference > docs/reference/cli.md`.
Exit status: 0 success, 1 a request was refused (the message says why), 2 bad usage or
configuration.
"""


def cli_reference(group: click.Group) -> str:
    """Markdown with the help text of every command."""
    sections = [HEADER]
    for path in _command_paths(group):
        result = CliRunner().invoke(group, [*path, "--help"], obj={}, terminal_width=100)
        title = " ".join(("editorial-assistant", *path))
        sections.append(f"## `{title}`\n\n```text\n{result.output.rstrip()}\n```\n")
    return "\n".join(sections)


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix] if not prefix else []
    for name in sorted(group.commands):
        command = group.commands[name]
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths += _command_paths(command, (*prefix, name))
    return paths


if __name__ == "__main__":
    from editorial_assistant.cli import cli

    print(cli_reference(cli), end="")
