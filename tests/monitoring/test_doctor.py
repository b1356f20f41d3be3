"""``editorial-assistant doctor``: the status lines, then configuration and permission checks,
each problem with its fix, on real files."""

from __future__ import annotations

from pathlib import Path

from editorial_assistant.config import Settings
from editorial_assistant.db import migrate
from tests.conftest import make_settings
from tests.monitoring.status_helpers import components, ready_server, run, tunnel_set_up


def doctor_settings(tmp_path: Path, **env: str) -> Settings:
    settings = make_settings(tmp_path, **env)
    migrate(settings.database_path)
    settings.data_dir.chmod(0o750)
    return settings


def test_a_world_readable_data_folder_fails_with_a_chmod_fix(tmp_path: Path) -> None:
    settings = doctor_settings(tmp_path)
    settings.data_dir.chmod(0o755)
    result = run(settings, "doctor")
    assert result.exit_code == 1, result.output
    assert f"fix: Run `sudo chmod o-rwx {settings.data_dir}`." in result.output
    folder = components(run(settings, "doctor", "--json"))["data folder"]
    assert folder["level"] == "fail" and "open to every user (mode 0755)" in folder["reason"]


def test_a_closed_data_folder_is_ok(tmp_path: Path) -> None:
    folder = components(run(doctor_settings(tmp_path), "doctor", "--json"))["data folder"]
    assert folder["level"] == "ok" and "(mode 0750)" in folder["reason"]


def test_no_alert_channel_warns_with_the_fix(tmp_path: Path) -> None:
    found = components(run(doctor_settings(tmp_path), "doctor", "--json"))["alert channels"]
    assert found["level"] == "warn" and found["reason"].startswith("no alert channel")
    assert "alerts.webhook_url or alerts.email_to" in found["fix"]
    settings = doctor_settings(tmp_path, EA_ALERTS_WEBHOOK_URL="http://127.0.0.1:9/hook")
    assert components(run(settings, "doctor", "--json"))["alert channels"]["level"] == "ok"


def test_litestream_missing_warns_naming_the_install_guide(tmp_path: Path) -> None:
    settings = doctor_settings(tmp_path, EA_LITESTREAM_BINARY=str(tmp_path / "no-litestream"))
    result = run(settings, "doctor")
    found = components(run(settings, "doctor", "--json"))["litestream install"]
    assert found["level"] == "warn" and found["reason"] == "Litestream is not installed"
    assert "docs/guides/install.md, section Continuous replication" in found["fix"]
    assert "fix: Install Litestream: docs/guides/install.md" in result.output


def test_warnings_alone_exit_0(tmp_path: Path) -> None:
    with ready_server() as port:
        settings = doctor_settings(tmp_path, EA_API_PORT=str(port), EA_AUTH_SECRET="s" * 32)
        result = run(settings, "doctor")
    assert result.exit_code == 0, result.output
    assert "overall: WARN" in result.output


def test_no_auth_secret_fails_with_the_command_that_sets_it(tmp_path: Path) -> None:
    found = components(run(doctor_settings(tmp_path), "doctor", "--json"))["auth secret"]
    assert found["level"] == "fail"
    assert found["fix"] == "Run `sudo editorial-assistant secret set auth_secret`."


def test_a_restic_repository_without_its_password_fails(tmp_path: Path) -> None:
    settings = doctor_settings(tmp_path, EA_RESTIC_REPOSITORY=str(tmp_path / "repo"))
    found = components(run(settings, "doctor", "--json"))["restic"]
    assert found["level"] == "fail" and "restic_password" in found["fix"]


def test_a_credentials_folder_others_can_open_fails(tmp_path: Path) -> None:
    folder = tmp_path / "credentials"
    folder.mkdir(mode=0o755)
    found = components(
        run(doctor_settings(tmp_path, EA_CREDENTIALS_DIR=str(folder)), "doctor", "--json")
    )["credentials"]
    assert found["level"] == "fail"  # not root's (tests run unprivileged) or not 0700


def test_a_broken_tunnel_configuration_fails_with_its_fix(tmp_path: Path) -> None:
    settings = doctor_settings(tmp_path, **tunnel_set_up(tmp_path))
    found = components(run(settings, "doctor", "--json"))["tunnel config"]
    assert found["level"] == "fail" and "tunnel check" in found["fix"]
