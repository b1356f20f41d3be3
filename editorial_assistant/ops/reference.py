"""Generating reference tables: the CLI from ``--help``, the settings from ``config.py``.

``python -m editorial_assistant.ops.reference`` prints the CLI reference; ``… settings`` prints
the settings table used in ``docs/reference/configuration.md``.
"""

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


def settings_table() -> str:
    """A Markdown table of every setting, its environment variable, type and default."""
    import json

    from editorial_assistant.config import iter_settings

    rows = ["| Setting | Environment | Type | Default | Meaning |", "|---|---|---|---|---|"]
    for name, env, field in iter_settings():
        default = field.default
        default = str(default) if hasattr(default, "__fspath__") else default
        kind = str(field.annotation).replace("typing.", "")
        if "Literal" in kind:
            kind = " \\| ".join(f"`{value}`" for value in field.annotation.__args__)
        elif isinstance(field.annotation, type):
            kind = field.annotation.__name__
        else:
            kind = kind.replace("pathlib.", "").replace(" | None", " (optional)")
        rows.append(
            f"| `{name}` | `{env}` | {kind} | `{json.dumps(default)}` | {field.description} |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    import sys

    from editorial_assistant.cli import cli

    print(settings_table() if sys.argv[1:] == ["settings"] else cli_reference(cli), end="")
