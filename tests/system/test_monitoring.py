"""Alerts under a real systemd (252): the monitor timer's service runs in its sandbox, a worker
killed past its restart limit fires its OnFailure= alert, and a full data disk fires the disk
alert while the API keeps answering reads.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from editorial_assistant.monitoring.alerts import MESSAGE_IDS
from tests.conftest import SRT
from tests.system.nspawn import Container
from tests.system.test_package import api, upload, wait_job

pytestmark = [pytest.mark.system, pytest.mark.nspawn]

DATA = "/var/lib/editorial-assistant"
MONITOR = "editorial-assistant-monitor.service"
WORKER = "editorial-assistant-worker.service"


@pytest.fixture
def box(installed: Container) -> Container:
    """A container with the package installed (the shared ``installed`` fixture)."""
    return installed


def alerts(box: Container) -> dict[str, Any]:
    done = box.run(["runuser", "-u", "editorial-assistant", "--", "editorial-assistant",
                    "alerts", "--json"], check=False)  # fmt: skip
    return dict(json.loads(done.stdout))


def firing(box: Container) -> list[str]:
    return [row["key"] for row in alerts(box)["firing"]]


def monitor_once(box: Container) -> None:
    done = box.run(["systemctl", "start", MONITOR], check=False, timeout=120)
    assert done.returncode == 0, box.run(["journalctl", "-u", MONITOR, "-n", "30",
                                          "--no-pager"]).stdout  # fmt: skip


def test_the_monitor_runs_in_its_sandbox_and_a_dead_worker_fires_its_alert(box: Container) -> None:
    for unit in (
        MONITOR,
        "editorial-assistant-monitor.timer",
        "editorial-assistant-alert@.service",
    ):
        verified = box.run(["systemd-analyze", "verify", unit], check=False)
        assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
    assert (
        box.systemctl("is-active", "editorial-assistant-monitor.timer").stdout.strip() == "active"
    )
    monitor_once(box)
    said = box.run(["journalctl", "-u", MONITOR, "-o", "cat", "--no-pager"]).stdout
    assert "conditions, " in said and "firing" in said
    assert not [key for key in firing(box) if key.startswith("unit.")]

    for _ in range(40):  # past StartLimitBurst=10 in 10 min
        if box.unit_state(WORKER)["ActiveState"] == "failed":
            break
        box.run(["systemctl", "kill", "-s", "KILL", WORKER], check=False)
        time.sleep(1.5)
    assert box.unit_state(WORKER)["ActiveState"] == "failed"
    deadline = time.monotonic() + 60
    while f"unit.{WORKER}" not in firing(box) and time.monotonic() < deadline:
        time.sleep(1)
    assert f"unit.{WORKER}" in firing(box)
    journal = box.run(["journalctl", f"MESSAGE_ID={MESSAGE_IDS['firing']}", "-o", "cat",
                       "--no-pager"]).stdout  # fmt: skip
    assert f"alert unit.{WORKER} firing" in journal

    box.run(["systemctl", "reset-failed", WORKER])
    box.systemctl("start", WORKER)
    monitor_once(box)
    assert f"unit.{WORKER}" not in firing(box)
    resolved = alerts(box)["notifications"]
    assert any(n["alert_key"] == f"unit.{WORKER}" and n["event"] == "resolved" for n in resolved)


def test_a_full_data_disk_fires_while_reads_are_still_answered(box: Container) -> None:
    job_id = upload(box, "2WLI1209HD.srt", SRT)
    wait_job(box, job_id, "completed")
    box.run("systemctl stop editorial-assistant.target editorial-assistant-api.socket")
    box.run(f"cp -a {DATA} /var/lib/ea-copy && mount -t tmpfs -o size=48m,mode=0750 tmpfs {DATA}"
            f" && cp -a /var/lib/ea-copy/. {DATA}/")  # fmt: skip
    box.run("systemctl start editorial-assistant.target")
    deadline = time.monotonic() + 60
    while api(box, "/readyz")[0] != 200 and time.monotonic() < deadline:
        time.sleep(1)
    box.run(f"fallocate -l 42m {DATA}/filler || dd if=/dev/zero of={DATA}/filler bs=1M count=42",
            check=False)  # fmt: skip
    monitor_once(box)
    assert "disk.full" in firing(box)
    status, body = api(box, f"/api/jobs/{job_id}")
    assert status == 200 and body["status"] == "completed"
