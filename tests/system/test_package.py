"""The .deb under a real systemd, checked as station IT would: install, serve, survive, upgrade.

Each test boots a fresh Debian 12 container (systemd 252) from the cached image, installs the
package built from this tree with apt, and drives it with systemctl, curl over the API's Unix
socket, journalctl and kill. Figures printed with ``-s`` feed docs/benchmarks.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SRT
from tests.jobs.test_job_lifecycle import long_srt
from tests.system.nspawn import Container, system_tools_missing
from tests.system.packages import (
    NEXT_MIGRATION_NAME,
    REPO,
    build_tools_missing,
    built,
    current_version,
    skip_or_fail,
)

pytestmark = [pytest.mark.system, pytest.mark.nspawn]

SOCKET = "/run/editorial-assistant/api.sock"
UNITS = ("editorial-assistant-api.service", "editorial-assistant-worker.service")
SERVICES = (*UNITS, "editorial-assistant-migrate.service", "editorial-assistant-tunnel.service")
CONFIG = "/etc/editorial-assistant/editorial-assistant.toml"
DATA = "/var/lib/editorial-assistant"


@pytest.fixture(scope="module")
def debs() -> dict[str, Path]:
    """The package of this tree, and a "next" one with one more migration."""
    reason = system_tools_missing() or build_tools_missing()
    if reason:
        skip_or_fail(reason)
    return {"current": built("current"), "next": built("next")}


@pytest.fixture
def box(
    nspawn_base: Path, debs: dict[str, Path], request: pytest.FixtureRequest
) -> Iterator[Container]:
    from tests.system.conftest import REPORTS
    from tests.system.nspawn import save_journal

    binds = {deb.parent: f"/debs/{kind}" for kind, deb in debs.items()}
    with Container(nspawn_base, binds_ro=binds) as booted:
        yield booted
        report = request.node.stash.get(REPORTS, {}).get("call")
        if report is not None and report.failed:
            save_journal(booted, name=request.node.nodeid)


def install(box: Container, debs: dict[str, Path], kind: str, *extra: str) -> float:
    """``apt-get install`` the package with stdin closed (a prompt would fail); seconds taken."""
    started = time.monotonic()
    done = box.run(
        [
            "apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            *extra,
            f"/debs/{kind}/{debs[kind].name}",
        ],
        input="",
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return time.monotonic() - started


# An admin API key for the tests' own requests, made as an operator would (root, the CLI).
TEST_HEADER = "/root/.ea-test-header"


def api(box: Container, path: str, *curl: str) -> tuple[int, Any]:
    """``curl`` over the API's Unix socket, signed in with the tests' key: (status, JSON body)."""
    if path in ("/readyz", "/healthz"):
        return _curl(box, path, *curl)
    if box.run(["test", "-s", TEST_HEADER], check=False).returncode != 0:
        make_test_key(box)
    status, body = _curl(box, path, "-H", f"@{TEST_HEADER}", *curl)
    if status == 401:  # the data folder was replaced: a new key
        make_test_key(box)
        status, body = _curl(box, path, "-H", f"@{TEST_HEADER}", *curl)
    return status, body


def make_test_key(box: Container) -> None:
    made = box.run(
        "editorial-assistant api-key create --name package-tests --role admin --json", check=False
    )
    if made.returncode == 0:
        key = json.loads(made.stdout)["key"]
        box.run(f"umask 077 && cat > {TEST_HEADER}", input=f"Authorization: Bearer {key}\n")


def _curl(box: Container, path: str, *curl: str) -> tuple[int, Any]:
    done = box.run(
        [
            "curl",
            "-sS",
            "--max-time",
            "10",
            "-o",
            "/dev/stdout",
            "-w",
            "\n%{http_code}",
            "--unix-socket",
            SOCKET,
            *curl,
            f"http://localhost{path}",
        ],
        check=False,
    )
    body, _, status = done.stdout.rpartition("\n")
    try:
        return int(status or 0), json.loads(body) if body else None
    except ValueError:
        return int(status or 0), body


def ready(box: Container) -> bool:
    return api(box, "/readyz")[0] == 200


def upload(box: Container, name: str, text: str) -> int:
    box.run(f"mkdir -p /srv/in && cat > /srv/in/{name}", input=text)
    status, body = api(box, "/api/transcripts", "-F", f"file=@/srv/in/{name}")
    assert status == 201, body
    return int(body["job"]["id"])


def job(box: Container, job_id: int) -> dict[str, Any]:
    status, body = api(box, f"/api/jobs/{job_id}")
    assert status == 200, body
    return dict(body)


def wait_job(box: Container, job_id: int, status: str, timeout: float = 90) -> dict[str, Any]:
    return box.wait_for(
        lambda: (found := job(box, job_id))["status"] == status and found,
        timeout=timeout,
        what=f"job {job_id} to be {status}",
    )


def slow_jobs(box: Container) -> None:
    """Make local-backend jobs take a few seconds, so a test can act while one runs."""
    box.run(
        "printf '[llm]\\nlocal_delay_seconds = 0.6\\n[pipeline]\\nformatter_chunk_words = 300\\n'"
        " > /etc/editorial-assistant/conf.d/50-slow.toml"
    )
    box.systemctl("restart", "editorial-assistant-worker.service")


def short_watchdogs(box: Container, seconds: int = 3) -> None:
    for unit in UNITS:
        box.run(
            f"mkdir -p /etc/systemd/system/{unit}.d && printf '[Service]\\nWatchdogSec={seconds}\\n"
            f"RestartSec=1\\n' > /etc/systemd/system/{unit}.d/50-test.conf"
        )
    box.systemctl("daemon-reload")
    box.systemctl("restart", *UNITS)


def memory_mib(box: Container) -> float:
    """Proportional set size of every process of the service user (API master, its workers,
    the job worker): shared pages counted once, unlike a sum of RSS."""
    pids = box.run(["pgrep", "-u", "editorial-assistant"]).stdout.split()
    rollups = box.run(["cat", *(f"/proc/{pid}/smaps_rollup" for pid in pids)]).stdout
    kib = sum(int(line.split()[1]) for line in rollups.splitlines() if line.startswith("Pss:"))
    return kib / 1024


def test_the_package_passes_lintian_and_its_changelog_matches_the_app(
    debs: dict[str, Path],
) -> None:
    import shutil
    import subprocess

    import editorial_assistant

    if shutil.which("lintian") is None:
        skip_or_fail("lintian missing (apt install lintian)")
    checked = subprocess.run(
        ["lintian", "--fail-on", "error,warning", str(debs["current"])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout[-3000:]
    changelog = (REPO / "packaging" / "debian" / "changelog").read_text(encoding="utf-8")
    assert changelog.startswith(f"editorial-assistant ({current_version()}) ")
    app = editorial_assistant.__version__
    assert current_version().startswith(app.replace(".dev", "~dev"))
    assert f"## [{app}]" in (REPO / "CHANGELOG.md").read_text(encoding="utf-8")


def test_install_starts_a_hardened_service_that_serves_on_its_socket_only(
    box: Container, debs: dict[str, Path]
) -> None:
    seconds = install(box, debs, "current")
    # apt returns after postinst started the target; "started" means /readyz answered.
    assert ready(box)
    print(f"\ninstall to ready: {seconds:.1f} s")

    for enabled in ("editorial-assistant.target", "editorial-assistant-api.socket", *UNITS):
        assert box.systemctl("is-enabled", enabled).stdout.strip() == "enabled", enabled
    for unit in UNITS:
        assert box.unit_state(unit)["ActiveState"] == "active", unit
    tunnel = box.systemctl("show", "-P", "ConditionResult", "editorial-assistant-tunnel.service")
    assert tunnel.stdout.strip() == "no"  # skipped, not failed, until cloudflared is set up
    assert (
        box.systemctl("is-failed", "editorial-assistant-tunnel.service", check=False).returncode
        != 0
    )

    listeners = box.run(["ss", "-ltnH"]).stdout.split()
    local = {"127.0.0.1", "[::1]", "::1"}
    for address in listeners[3::5]:
        assert address.rpartition(":")[0] in local, f"listening on {address}"
    assert box.run(["stat", "-c", "%a %U:%G", SOCKET]).stdout.strip() == (
        "660 editorial-assistant:editorial-assistant"
    )
    assert box.run(["stat", "-c", "%a %U", DATA]).stdout.strip() == "750 editorial-assistant"
    assert (
        box.run(["stat", "-c", "%a %U", "/etc/editorial-assistant/credentials"]).stdout.strip()
        == "700 root"
    )
    assert box.run(["editorial-assistant", "version"]).stdout.startswith("editorial-assistant ")
    config = box.run(["cat", CONFIG]).stdout
    assert 'socket = "/run/editorial-assistant/api.sock"' in config and "# workers = 2" in config

    # cloudflared cannot be had here: an empty stand-in lets `verify` check the tunnel unit.
    box.run("install -m 0755 /dev/null /usr/bin/cloudflared")
    for unit in (*SERVICES, "editorial-assistant-api.socket", "editorial-assistant.target"):
        verified = box.run(["systemd-analyze", "verify", unit], check=False)
        assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
    box.run(["rm", "/usr/bin/cloudflared"])
    for unit in SERVICES:
        exposure = box.run(
            ["systemd-analyze", "security", "--offline=yes", "--threshold=20", "--no-pager", unit],
            check=False,
        )
        assert exposure.returncode == 0, exposure.stdout[-1500:]
        print(unit, exposure.stdout.strip().splitlines()[-1])

    job_id = upload(box, "2WLI1209HD.srt", SRT)
    finished = wait_job(box, job_id, "completed")
    assert finished["outputs"]
    # The service's files belong to the service user; nothing was written as root.
    owners = box.run(f"find {DATA} ! -user editorial-assistant").stdout.strip()
    assert owners == ""

    # Figures for docs/benchmarks.md (printed with -s; speed and memory are not asserted).
    time.sleep(3)  # settle after the job before reading idle memory
    print(f"idle memory (PSS), API + worker: {memory_mib(box):.0f} MiB")
    started = time.monotonic()
    box.systemctl("restart", "editorial-assistant.target")  # returns once /readyz answers
    assert ready(box)
    print(f"restart to ready: {time.monotonic() - started:.1f} s")


def test_watchdogs_restart_a_frozen_api_or_worker_and_the_running_job_completes(
    box: Container, debs: dict[str, Path]
) -> None:
    install(box, debs, "current")
    short_watchdogs(box)
    box.wait_for(lambda: ready(box), what="the API to serve after the drop-in")

    main = box.unit_state("editorial-assistant-api.service")["MainPID"]
    workers = box.run(f"cat /proc/{main}/task/*/children").stdout.split()
    assert workers
    box.run(["kill", "-STOP", *workers])
    restarted = box.wait_for(
        lambda: int(box.unit_state("editorial-assistant-api.service")["NRestarts"]) >= 1,
        timeout=30,
        what="systemd to restart the API through its watchdog",
    )
    assert restarted
    started = time.monotonic()
    box.wait_for(lambda: ready(box), timeout=60, what="the restarted API to serve")
    print(f"\nAPI restart to ready: {time.monotonic() - started:.1f} s")
    journal = box.run(["journalctl", "-u", "editorial-assistant-api", "--no-pager"]).stdout
    assert "Watchdog timeout" in journal or "watchdog" in journal.lower()

    slow_jobs(box)
    job_id = upload(box, "9UNP1972HD.srt", long_srt(3000))
    wait_job(box, job_id, "running")
    worker = box.unit_state("editorial-assistant-worker.service")["MainPID"]
    box.run(["kill", "-STOP", worker])
    box.wait_for(
        lambda: int(box.unit_state("editorial-assistant-worker.service")["NRestarts"]) >= 1,
        timeout=30,
        what="systemd to restart the frozen worker",
    )
    done = wait_job(box, job_id, "completed", timeout=180)
    assert done["outputs"]


def test_kill_9_of_the_worker_mid_job_loses_nothing_and_the_journal_tells_the_story(
    box: Container, debs: dict[str, Path]
) -> None:
    install(box, debs, "current")
    slow_jobs(box)
    job_id = upload(box, "9UNP1972HD.srt", long_srt(3000))
    wait_job(box, job_id, "running")
    # `systemctl stop` lets the running phase finish, then hands the job back to the queue.
    box.systemctl("stop", "editorial-assistant-worker.service")
    assert job(box, job_id)["status"] == "queued"
    box.systemctl("start", "editorial-assistant-worker.service")
    wait_job(box, job_id, "running")
    # `systemctl reload` is a graceful re-exec in place: same unit, same PID, still consuming.
    before = box.unit_state("editorial-assistant-worker.service")["MainPID"]
    box.systemctl("reload", "editorial-assistant-worker.service")
    box.wait_for(
        lambda: (
            "re-executing"
            in box.run(
                ["journalctl", "-u", "editorial-assistant-worker", "--no-pager", "-o", "cat"]
            ).stdout
        ),
        what="the worker to re-execute itself",
    )
    state = box.wait_for_unit("editorial-assistant-worker.service", ActiveState="active")
    assert state["MainPID"] == before
    wait_job(box, job_id, "running")

    worker = box.unit_state("editorial-assistant-worker.service")["MainPID"]
    box.run(["kill", "-9", worker])
    box.wait_for(
        lambda: (
            box.unit_state("editorial-assistant-worker.service")["MainPID"] not in ("0", worker)
        ),
        what="systemd to start a new worker",
    )
    done = wait_job(box, job_id, "completed", timeout=180)
    assert sorted(done["outputs"]) == sorted(set(done["outputs"]))

    lines = box.run(
        [
            "journalctl",
            "-u",
            "editorial-assistant-worker",
            "-o",
            "json",
            f"JOB_ID={job_id}",
            "--no-pager",
        ]
    ).stdout.splitlines()
    entries = [json.loads(line) for line in lines]
    assert entries, "no journal entries carry JOB_ID"
    assert {entry["PRIORITY"] for entry in entries} <= {"3", "4", "5", "6", "7"}
    phases = {entry.get("PHASE") for entry in entries} - {None}
    assert {"analyst", "formatter"} <= phases
    assert all(entry["SYSLOG_IDENTIFIER"] == "editorial-assistant" for entry in entries)
    requests = box.run(
        ["journalctl", "-u", "editorial-assistant-api", "-o", "json", "--no-pager"]
    ).stdout.splitlines()
    assert any("REQUEST_ID" in json.loads(line) for line in requests if line.strip())


def test_upgrade_keeps_jobs_and_edited_config_migrates_once_and_downgrade_refuses(
    box: Container, debs: dict[str, Path]
) -> None:
    install(box, debs, "current")
    job_id = upload(box, "2WLI1209HD.srt", SRT)
    wait_job(box, job_id, "completed")
    box.run(f"sed -i 's/^# workers = 2$/workers = 3/' {CONFIG}")
    assert "workers = 3" in box.run(["cat", CONFIG]).stdout

    install(box, debs, "next")
    version = box.run(["dpkg-query", "-W", "-f=${Version}", "editorial-assistant"]).stdout
    assert version == current_version() + "+next1"
    assert ready(box)
    for unit in UNITS:
        assert box.unit_state(unit)["ActiveState"] == "active", unit
    assert job(box, job_id)["status"] == "completed"
    assert "\nworkers = 3\n" in box.run(["cat", CONFIG]).stdout
    probe = box.run(
        ["sqlite3", f"{DATA}/editorial-assistant.db", "SELECT count(*) FROM upgrade_probe"]
    )
    assert probe.stdout.strip() == "1"
    snapshots = box.run(f"ls {DATA}/snapshots/").stdout.split()
    assert len([name for name in snapshots if name.startswith("pre-migrate-")]) == 1
    migrations = box.run(
        ["journalctl", "-u", "editorial-assistant-migrate", "--no-pager", "-o", "cat"]
    ).stdout
    assert migrations.count(f"applied {NEXT_MIGRATION_NAME}") == 1

    refused = box.run(
        ["apt-get", "install", "-y", "--allow-downgrades", f"/debs/current/{debs['current'].name}"],
        input="",
        timeout=300,
        check=False,
    )
    assert "the database migration failed" in refused.stderr + refused.stdout
    assert box.unit_state("editorial-assistant-api.service")["ActiveState"] != "active"
    said = box.run(
        ["journalctl", "-u", "editorial-assistant-migrate", "--no-pager", "-o", "cat"]
    ).stdout
    assert "a newer version wrote it" in said and "snapshots/pre-migrate-" in said


def test_remove_stops_everything_and_purge_removes_config_but_keeps_data(
    box: Container, debs: dict[str, Path]
) -> None:
    install(box, debs, "current")
    job_id = upload(box, "2WLI1209HD.srt", SRT)
    wait_job(box, job_id, "completed")

    box.run(["apt-get", "remove", "-y", "editorial-assistant"], input="", timeout=120)
    for unit in SERVICES:
        assert box.unit_state(unit)["ActiveState"] in ("inactive", "failed"), unit
    assert box.run(["pgrep", "-u", "editorial-assistant"], check=False).returncode == 1
    assert box.run(["test", "-f", CONFIG], check=False).returncode == 0

    box.run(["apt-get", "purge", "-y", "editorial-assistant"], input="", timeout=120)
    assert box.run(["test", "-e", "/etc/editorial-assistant"], check=False).returncode == 1
    assert box.run(["test", "-f", f"{DATA}/editorial-assistant.db"], check=False).returncode == 0
    assert box.run(["getent", "passwd", "editorial-assistant"], check=False).returncode == 0


GUIDES = REPO / "docs" / "guides"
# A stand-in for sudo (the test image has none): `sudo -u USER cmd` and `sudo [VAR=x] cmd`.
SUDO_SHIM = """#!/bin/sh
if [ "$1" = "-u" ]; then user=$2; shift 2; exec runuser -u "$user" -- env "$@"; fi
exec env "$@"
"""
# Commands from the install and upgrade guides, verbatim; each must appear in its guide, so the
# guides cannot drift from what this test runs. (guide, command, text its output must contain)
GUIDE_COMMANDS = [
    ("install.md", "systemctl status editorial-assistant.target", "active"),
    ("install.md", "systemctl list-dependencies editorial-assistant.target", "worker"),
    (
        "install.md",
        "sudo curl --unix-socket /run/editorial-assistant/api.sock http://localhost/readyz",
        '"status"',
    ),
    ("install.md", "sudo editorial-assistant config check", "configuration OK"),
    (
        "install.md",
        "printf '1\\n00:00:01,000 --> 00:00:04,000\\n- Host: Welcome to the garden.\\n\\n2\\n"
        "00:00:05,000 --> 00:00:09,000\\nToday we plant tomatoes.\\n'"
        " > /tmp/2WLI1209HD_ForClaude.srt",
        "",
    ),
    (
        "install.md",
        "sudo editorial-assistant user create alice --role admin --email alice@example.org "
        "--login-link",
        "/login/link?token=",
    ),
    (
        "install.md",
        "sudo editorial-assistant api-key create --name setup-check --role editor --json | "
        'python3 -c \'import json, sys; print("Authorization: Bearer " + '
        'json.load(sys.stdin)["key"])\' > ~/.ea-setup-header',
        "",
    ),
    (
        "install.md",
        "sudo curl --unix-socket /run/editorial-assistant/api.sock -H @$HOME/.ea-setup-header "
        "-F file=@/tmp/2WLI1209HD_ForClaude.srt http://localhost/api/transcripts",
        "2WLI1209HD",
    ),
    ("install.md", "sudo -u editorial-assistant editorial-assistant jobs list", "2WLI1209HD"),
    ("install.md", "sudo editorial-assistant jobs list", "2WLI1209HD"),
    ("install.md", "sudo -u editorial-assistant editorial-assistant jobs show 1", "2WLI1209HD"),
    ("install.md", "sudo journalctl -u editorial-assistant-worker JOB_ID=1", "job 1"),
    (
        "install.md",
        "sudo curl --unix-socket /run/editorial-assistant/api.sock -H @$HOME/.ea-setup-header "
        "http://localhost/jobs/1",
        "<h1>Job 1: 2WLI1209HD</h1>",
    ),
    ("install.md", "sudo journalctl -u editorial-assistant-api -p warning", ""),
    ("install.md", "sudo -u editorial-assistant editorial-assistant costs", ""),
    ("install.md", "systemd-analyze security editorial-assistant-api.service", "exposure"),
    ("install.md", "sudo systemctl restart editorial-assistant.target", ""),
    ("upgrade.md", "dpkg-query -W editorial-assistant", "editorial-assistant"),
    ("upgrade.md", "sudo ls -l /var/lib/editorial-assistant/snapshots/", ""),
    ("upgrade.md", "sudo journalctl -u editorial-assistant-migrate -n 20", "applied"),
]


def test_the_guides_commands_work_as_written(box: Container, debs: dict[str, Path]) -> None:
    install(box, debs, "current")
    box.run("cat > /usr/local/bin/sudo && chmod 0755 /usr/local/bin/sudo", input=SUDO_SHIM)
    for guide, command, expected in GUIDE_COMMANDS:
        assert command in (GUIDES / guide).read_text(encoding="utf-8"), f"{guide}: {command}"
        done = box.run(command, check=False, timeout=60)
        assert done.returncode == 0, f"{command}\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
        assert expected in done.stdout, f"{command}: {expected!r} not in\n{done.stdout[-1500:]}"
        if "api/transcripts" in command:
            wait_job(box, 1, "completed")
    # The key, as the guide sets it (piped here instead of typed), switches the backend.
    guide = (GUIDES / "install.md").read_text(encoding="utf-8")
    key = "sudo editorial-assistant secret set openrouter_api_key"
    assert key in guide and "sudo editorial-assistant secret delete openrouter_api_key" in guide
    box.run(key, input="sk-or-v1-test\n")
    stored = "/etc/editorial-assistant/credentials/openrouter_api_key.cred"
    assert box.run(["stat", "-c", "%a %U", stored]).stdout.strip() == "600 root"
    assert "LLM backend: openrouter" in box.run("sudo editorial-assistant config check").stdout
    box.run("sudo editorial-assistant secret delete openrouter_api_key")
    assert "LLM backend: local" in box.run("sudo editorial-assistant config check").stdout
