"""The ``editorial-assistant`` command as an operator uses it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from editorial_assistant import __version__
from editorial_assistant.cli import cli
from tests.conftest import SRT
from tests.system.processes import environment, run


def invoke(tmp_path: Path, *args: str, **env: str):  # type: ignore[no-untyped-def]
    environ = environment(tmp_path, **env)
    return CliRunner().invoke(cli, list(args), env=environ, obj={}, catch_exceptions=False)


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += all_commands(command, (*prefix, name))
    return found


@pytest.mark.parametrize("path", all_commands(cli), ids=" ".join)
def test_every_command_has_help(tmp_path: Path, path: tuple[str, ...]) -> None:
    result = invoke(tmp_path, *path, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output
    command = cli
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    assert command.help or command.short_help, f"{' '.join(path)} has no help text"


def test_version_prints_the_package_version(tmp_path: Path) -> None:
    assert invoke(tmp_path, "version").output.strip() == f"editorial-assistant {__version__}"


def test_config_check_names_every_bad_setting(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[api]\nport = 0\n[worker]\nconcurrency = 1000\n", encoding="utf-8")
    result = invoke(tmp_path, "--config", str(bad), "config", "check", EA_LLM_BACKEND="gpt")
    assert result.exit_code == 2
    for name in ("api.port = 0", "worker.concurrency = 1000", "llm.backend = 'gpt'"):
        assert name in result.output


def test_config_check_accepts_a_good_config(tmp_path: Path) -> None:
    result = invoke(tmp_path, "config", "check")
    assert result.exit_code == 0 and "configuration OK" in result.output
    assert "LLM backend: local" in result.output
    keyed = invoke(tmp_path, "config", "check", EA_OPENROUTER_API_KEY="sk-or-v1-x")
    assert "LLM backend: openrouter" in keyed.output
    unkeyed = invoke(tmp_path, "config", "check", EA_LLM_BACKEND="openrouter")
    assert "no openrouter_api_key" in unkeyed.output


def test_a_bad_setting_stops_start_up_with_its_name(tmp_path: Path) -> None:
    result = run(["worker"], environment(tmp_path, EA_WORKER_CONCURRENCY="zero"))
    assert result.returncode == 2
    assert "worker.concurrency = 'zero'" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_api_refuses_a_database_it_has_not_migrated(tmp_path: Path) -> None:
    result = run(["api", "--port", "1"], environment(tmp_path))
    assert result.returncode == 1
    assert "editorial-assistant migrate" in result.stderr and "Traceback" not in result.stderr


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    assert (
        "applied 0001_initial.sql, 0002_llm_calls_by_time.sql" in invoke(tmp_path, "migrate").output
    )
    assert "up to date" in invoke(tmp_path, "migrate").output


def test_submit_queues_files_and_reports_refusals(tmp_path: Path) -> None:
    invoke(tmp_path, "migrate")
    good, scc = tmp_path / "2WLI1209HD_ForClaude.txt", tmp_path / "x.scc"
    good.write_text(SRT, encoding="utf-8")
    scc.write_bytes(b"Scenarist_SCC V1.0\n\n00:00:01:00\t9420\n")
    result = invoke(tmp_path, "submit", str(good), str(scc), "--json")
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines[0]["accepted"] and lines[0]["job"]["id"] == 1
    assert lines[1]["error"]["code"] == "scc_not_supported"
    listing = invoke(tmp_path, "jobs", "list", "--json")
    assert [job["media_id"] for job in json.loads(listing.output)["jobs"]] == ["2WLI1209HD"]


def test_jobs_verbs_act_and_explain_refusals(tmp_path: Path) -> None:
    invoke(tmp_path, "migrate")
    (tmp_path / "2WLI1209HD.srt").write_text(SRT, encoding="utf-8")
    invoke(tmp_path, "submit", str(tmp_path / "2WLI1209HD.srt"))
    assert "job 1 is paused" in invoke(tmp_path, "jobs", "pause", "1").output
    assert "job 1 is cancelled" in invoke(tmp_path, "jobs", "cancel", "1").output
    refused = invoke(tmp_path, "jobs", "resume", "1")
    assert refused.exit_code == 1 and "not paused" in refused.output
    assert "job 1 is queued" in invoke(tmp_path, "jobs", "retry", "1").output
    shown = invoke(tmp_path, "jobs", "show", "1")
    assert "2WLI1209HD" in shown.output and "analyst" in shown.output
    missing = invoke(tmp_path, "jobs", "show", "99")
    assert missing.exit_code == 1 and "no job 99" in missing.output
    bad_phase = invoke(tmp_path, "jobs", "retry-phase", "1", "nonsense")
    assert bad_phase.exit_code == 1 and "Unknown phase" in bad_phase.output


def test_the_cli_reference_matches_the_commands_help() -> None:
    from editorial_assistant.ops.reference import cli_reference

    reference = Path(__file__).resolve().parents[1] / "docs" / "reference" / "cli.md"
    assert reference.read_text(encoding="utf-8") == cli_reference(cli), (
        "docs/reference/cli.md is stale: regenerate it with "
        "`.venv/bin/python -m editorial_assistant.ops.reference > docs/reference/cli.md`"
    )


def test_costs_prints_the_month_against_the_budget(tmp_path: Path) -> None:
    invoke(tmp_path, "migrate")
    result = invoke(tmp_path, "costs", EA_BUDGET_MONTHLY_USD="250")
    assert result.exit_code == 0
    assert "of $250.00 spent" in result.output and "by phase:" in result.output
    data = json.loads(invoke(tmp_path, "costs", "--json").output)
    assert data["spent_usd"] == 0 and data["budget_usd"] == 100.0


def _nobody_can_run_python() -> bool:
    import pwd
    import subprocess

    nobody = pwd.getpwnam("nobody")
    drop = f"import os; os.setgroups([]); os.setgid({nobody.pw_gid}); os.setuid({nobody.pw_uid})"
    load = (
        "import importlib.resources as r; list(r.files('editorial_assistant.migrations').iterdir())"
    )
    probe = [sys.executable, "-c", f"{drop}; {load}"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can hand over to the service user")
def test_root_works_on_the_service_users_data_as_that_user() -> None:
    """(The package test does the same with `sudo editorial-assistant` in the container.)"""
    import pwd
    import shutil
    import tempfile

    if not _nobody_can_run_python():
        pytest.skip("Python or this package lives where the nobody user cannot read it")

    base = Path(tempfile.mkdtemp(prefix="ea-root-"))  # not under root's private pytest folder
    try:
        base.chmod(0o755)
        data = base / "data"
        data.mkdir()
        nobody = pwd.getpwnam("nobody")
        os.chown(data, nobody.pw_uid, nobody.pw_gid)
        env = environment(base, SUDO_USER="carla")
        assert run(["migrate"], env).returncode == 0
        made = run(["api-key", "create", "--name", "ci", "--role", "editor", "--json"], env)
        assert made.returncode == 0, made.stderr
        assert json.loads(made.stdout)["key"].startswith("eak_")
        assert {path.stat().st_uid for path in data.rglob("*")} == {nobody.pw_uid}
        tail = run(["audit", "tail", "--json"], env)
        assert [json.loads(line)["actor"] for line in tail.stdout.splitlines()] == ["cli:carla"] * 2
    finally:
        shutil.rmtree(base)
