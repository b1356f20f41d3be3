"""The systemd-nspawn harness itself: containers boot, run units, isolate, and clean up."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.system.nspawn import Container, save_journal, system_tools_missing

MISSING = system_tools_missing()
pytestmark = [
    pytest.mark.system,
    pytest.mark.nspawn,
    pytest.mark.skipif(MISSING is not None, reason=MISSING or ""),
]

# Says it is ready, pings the watchdog once, then hangs: systemd must kill and restart it.
STALLS = """\
import os, socket, time
address = os.environ["NOTIFY_SOCKET"].replace("@", "\\0", 1)
with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
    notify.connect(address)
    notify.sendall(b"READY=1\\nWATCHDOG=1")
time.sleep(3600)
"""


def listening_ports(container: Container) -> set[int]:
    lines = container.run(["ss", "-Htln"]).stdout.splitlines()
    return {int(line.split()[3].rsplit(":", 1)[1]) for line in lines}


def test_it_boots_to_a_running_system(container: Container) -> None:
    state = container.run(["systemctl", "is-system-running"], check=False).stdout.strip()
    assert state == "running", container.systemctl("--failed").stdout


def test_it_runs_a_transient_unit_as_nobody(container: Container) -> None:
    uid = container.run(["systemd-run", "--wait", "--pipe", "-q", "-p", "User=nobody", "id", "-u"])
    assert uid.stdout.strip() == "65534"


def test_it_restarts_a_notify_service_that_stops_pinging_the_watchdog(
    container: Container, tmp_path: Path
) -> None:
    (tmp_path / "stalls.py").write_text(STALLS)
    container.copy_in(tmp_path / "stalls.py", "/usr/local/lib/stalls.py")
    # Result=watchdog lasts only until the restart (systemd 252 resets it): RestartSec shows it.
    properties = ["Type=notify", "WatchdogSec=2", "Restart=on-watchdog", "RestartSec=1"]
    flags = [f"--property={prop}" for prop in properties]
    container.run(["systemd-run", "--unit=stalls", *flags, "python3", "/usr/local/lib/stalls.py"])
    first = container.unit_state("stalls.service")
    assert (first["ActiveState"], first["NRestarts"]) == ("active", "0")
    failed = container.wait_for_unit("stalls.service", timeout=10, SubState="auto-restart")
    assert (failed["Result"], failed["NRestarts"]) == ("watchdog", "0")
    restarted = container.wait_for_unit("stalls.service", timeout=10, SubState="running")
    assert restarted["NRestarts"] == "1"
    assert restarted["MainPID"] != first["MainPID"]


def test_it_finds_a_custom_journal_field(container: Container) -> None:
    send = "from systemd import journal; journal.send('hello', EA_TEST_FIELD='nspawn-42')"
    container.run(["python3", "-c", send])
    entries = container.wait_for(
        lambda: container.run(["journalctl", "-o", "json", "EA_TEST_FIELD=nspawn-42"]).stdout,
        timeout=5,
        what="the journal entry",
    )
    assert json.loads(entries.splitlines()[0])["MESSAGE"] == "hello"


def test_its_private_network_shows_only_what_listens_inside(container: Container) -> None:
    with socket.socket() as outside:
        outside.bind(("127.0.0.1", 0))
        outside.listen()
        server = ["python3", "-m", "http.server", "--bind", "127.0.0.1", "8080"]
        container.run(["systemd-run", "--unit=listener", *server])
        ports = container.wait_for(lambda: listening_ports(container), what="port 8080 to listen")
        assert ports == {8080}, f"host port {outside.getsockname()[1]} must not show"


def test_two_containers_run_side_by_side(container: Container, nspawn_base: Path) -> None:
    server = ["systemd-run", "--unit=listener", "python3", "-m", "http.server", "8080"]
    with Container(nspawn_base) as other:
        for booted in (container, other):
            booted.run(server)
        container.run("echo first >/run/marker")
        assert other.run(["test", "-e", "/run/marker"], check=False).returncode == 1
        names = {booted.run(["hostname"]).stdout for booted in (container, other)}
        ids = {booted.run(["cat", "/etc/machine-id"]).stdout for booted in (container, other)}
        assert (len(names), len(ids)) == (2, 2)
        assert other.unit_state("listener.service")["ActiveState"] == "active"
    assert not any(cgroup.exists() for cgroup in other.cgroups)
    assert container.unit_state("listener.service")["ActiveState"] == "active"


def test_it_saves_the_journal_as_an_artifact(container: Container, tmp_path: Path) -> None:
    container.run(["logger", "-t", "harness", "artifact check"])
    path = save_journal(container, tmp_path, "tests/system/test_nspawn.py::artifact")
    assert path.name == "tests_system_test_nspawn.py_artifact.journal-export"
    assert b"MESSAGE=artifact check" in path.read_bytes()


def test_its_wait_for_explains_a_timeout(container: Container) -> None:
    with pytest.raises(TimeoutError, match="waiting for the impossible") as raised:
        container.wait_for(lambda: False, timeout=0.2, what="the impossible")
    assert "--- journal of" in str(raised.value)
