"""Every command-line verb that changes something writes an audit entry naming the operator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from editorial_assistant.cli import cli
from editorial_assistant.config import load_settings
from editorial_assistant.worker import Worker
from tests.auth.helpers import audit_count
from tests.conftest import SRT
from tests.system.processes import environment

# Verbs that read, or run the service; they change no data of their own.
READS = {
    "version",
    "wait-ready",
    "api",
    "worker",
    "serve",
    "jobs list",
    "jobs show",
    "costs",
    "costs report",
    "config check",
    "config show",
    "tunnel check",
    "user list",
    "api-key list",
    "project access",
    "audit tail",
    "secret list",
    "backup list",
    "backup status",
    "litestream status",
    "status",
    "doctor",
    "alerts",
}
# Verbs that change configuration outside the database: their record is the journal.
OUTSIDE_THE_DATABASE = {"secret set", "secret rotate", "secret delete"}
# Verbs whose record is their own row in backup_runs and the journal (a restic repository made).
OUTSIDE_THE_DATABASE |= {"backup run", "backup init", "backup drill"}
# Replication is Litestream's; a restore's entry is written into the restored database
# (tests/backups/test_restore.py reads it there).
OUTSIDE_THE_DATABASE |= {"litestream replicate", "restore"}
# The monitor's record is the alerts tables and the journal, as for backups.
OUTSIDE_THE_DATABASE |= {"monitor run", "alerts unit-failed"}


def verbs(group: click.Group, prefix: str = "") -> list[str]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += verbs(command, f"{prefix}{name} ")
        else:
            found.append(f"{prefix}{name}")
    return found


class Shell:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.env = environment(tmp_path, SUDO_USER="ivan")
        captions = tmp_path / "2WLI1209HD.srt"
        captions.write_text(SRT, encoding="utf-8")
        self.captions = str(captions)

    def __call__(self, *args: str, stdin: str | None = None) -> None:
        result = CliRunner().invoke(cli, list(args), env=self.env, obj={}, input=stdin)
        assert result.exit_code == 0, (args, result.output)

    def finish_job(self) -> None:
        Worker(load_settings(self.env)).run(1)


SCENARIOS: dict[str, Callable[[Shell], None]] = {
    "migrate": lambda sh: None,  # the fixture's migrate is the change under test
    "submit": lambda sh: sh("submit", sh.captions),
    "jobs pause": lambda sh: (sh("submit", sh.captions), sh("jobs", "pause", "1")),
    "jobs resume": lambda sh: (
        sh("submit", sh.captions),
        sh("jobs", "pause", "1"),
        sh("jobs", "resume", "1"),
    ),
    "jobs cancel": lambda sh: (sh("submit", sh.captions), sh("jobs", "cancel", "1")),
    "jobs retry": lambda sh: (
        sh("submit", sh.captions),
        sh("jobs", "cancel", "1"),
        sh("jobs", "retry", "1"),
    ),
    "jobs retry-phase": lambda sh: (
        sh("submit", sh.captions),
        sh.finish_job(),
        sh("jobs", "retry-phase", "1", "seo"),
    ),
    "models refresh": None,  # needs OpenRouter: tests/llm/test_openrouter_pipeline.py
    "user create": lambda sh: sh("user", "create", "bob", "--role", "editor"),
    "user set-role": lambda sh: (
        sh("user", "create", "bob", "--role", "editor"),
        sh("user", "set-role", "bob", "viewer"),
    ),
    "user disable": lambda sh: (
        sh("user", "create", "bob", "--role", "editor"),
        sh("user", "disable", "bob"),
    ),
    "user enable": lambda sh: (
        sh("user", "create", "bob", "--role", "editor"),
        sh("user", "enable", "bob"),
    ),
    "user reset-password": lambda sh: (
        sh("user", "create", "bob", "--role", "editor"),
        sh("user", "reset-password", "bob", stdin="a long enough passphrase\n"),
    ),
    "user unlock": lambda sh: (
        sh("user", "create", "bob", "--role", "editor"),
        sh("user", "unlock", "bob"),
    ),
    "user login-link": lambda sh: (
        sh("user", "create", "bob", "--role", "editor"),
        sh("user", "login-link", "bob"),
    ),
    "api-key create": lambda sh: sh("api-key", "create", "--name", "x", "--role", "viewer"),
    "api-key revoke": lambda sh: (
        sh("api-key", "create", "--name", "x", "--role", "viewer"),
        sh("api-key", "revoke", "1"),
    ),
    "project grant": lambda sh: (
        sh("user", "create", "bob", "--role", "viewer"),
        sh("project", "grant", "2WLI1209HD", "bob", "editor"),
    ),
    "project revoke": lambda sh: (
        sh("user", "create", "bob", "--role", "viewer"),
        sh("project", "grant", "2WLI1209HD", "bob", "editor"),
        sh("project", "revoke", "2WLI1209HD", "bob"),
    ),
}


def test_every_verb_is_either_a_read_or_has_an_audit_scenario() -> None:
    unclassified = set(verbs(cli)) - READS - OUTSIDE_THE_DATABASE - set(SCENARIOS)
    assert not unclassified, f"classify these verbs: {sorted(unclassified)}"


@pytest.mark.parametrize("verb", sorted(v for v, s in SCENARIOS.items() if s))
def test_a_verb_that_changes_data_writes_an_audit_entry_by_the_operator(
    tmp_path: Path, verb: str
) -> None:
    shell = Shell(tmp_path)
    shell("migrate")
    settings = load_settings(shell.env)
    scenario = SCENARIOS[verb]
    assert scenario is not None
    scenario(shell)
    action_count = audit_count(settings)
    assert action_count >= 1
    import sqlite3

    with sqlite3.connect(settings.database_path) as conn:
        actors = {row[0] for row in conn.execute("SELECT actor FROM audit_log")}
    assert actors <= {"cli:ivan", "system"}, actors
    assert _last_action(settings) == EXPECTED[verb]


def _last_action(settings) -> str:  # type: ignore[no-untyped-def]
    import sqlite3

    with sqlite3.connect(settings.database_path) as conn:
        return str(conn.execute("SELECT action FROM audit_log ORDER BY id DESC").fetchone()[0])


EXPECTED = {
    "migrate": "config.schema_migrated",
    "submit": "transcript.submitted",
    "jobs pause": "job.paused",
    "jobs resume": "job.resumed",
    "jobs cancel": "job.cancelled",
    "jobs retry": "job.retried",
    "jobs retry-phase": "job.phase_retried",
    "user create": "user.created",
    "user set-role": "user.updated",
    "user disable": "user.updated",
    "user enable": "user.updated",
    "user reset-password": "auth.password_changed",
    "user unlock": "user.unlocked",
    "user login-link": "auth.login_link_created",
    "api-key create": "key.created",
    "api-key revoke": "key.revoked",
    "project grant": "project.granted",
    "project revoke": "project.revoked",
}
