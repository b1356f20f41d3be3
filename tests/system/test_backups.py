"""The daily backup under a real systemd (252) with the real restic, as station IT sets it up.

Each test boots the Debian 12 container of test_package.py, installs the package of this tree,
and follows docs/guides/backups.md: the password through ``secret set``, the repository in a
conf.d file, ``backup init``, then the timer's service. What restic holds is restored and
compared byte for byte with the data folder; each failure must fail the unit and say why.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from editorial_assistant.backups.service import MESSAGE_IDS
from tests.conftest import SRT
from tests.system.nspawn import Container
from tests.system.packages import REPO
from tests.system.test_package import upload, wait_job

pytestmark = [pytest.mark.system, pytest.mark.nspawn]

SERVICE = "editorial-assistant-backup.service"
TIMER = "editorial-assistant-backup.timer"
DATA = "/var/lib/editorial-assistant"
REPOSITORY = "/var/backups/editorial-assistant/restic"
PASSWORD = "paste-the-password-here"  # the guide's placeholder, used as it is
GUIDE = REPO / "docs" / "guides" / "backups.md"
# Commands from the guide, verbatim (each must appear in it), in the order IT would run them,
# with text their output must contain and what they read on stdin. The SFTP commands need a
# host to talk to and ssh (not in the image): the test checks their configuration line only.
GUIDE_COMMANDS: list[tuple[str, str, str | None]] = [
    (
        "printf '%s' 'paste-the-password-here' | sudo editorial-assistant secret set "
        "restic_password",
        "stored encrypted",
        None,
    ),
    (
        "sudo install -d -o editorial-assistant -g editorial-assistant -m 0700 "
        "/var/backups/editorial-assistant",
        "",
        None,
    ),
    (
        "printf '[backup]\\nrestic_repository = \"/var/backups/editorial-assistant/restic\"\\n' "
        "| sudo tee /etc/editorial-assistant/conf.d/50-backup.toml",
        "restic_repository",
        None,
    ),
    ("sudo editorial-assistant config check", "configuration OK", None),
    ("sudo editorial-assistant backup init", ": created", None),
    ("sudo systemctl start editorial-assistant-backup.service", "", None),
    ("sudo editorial-assistant backup status", "backups: healthy", None),
    ("sudo editorial-assistant backup status --json", '"healthy": true', None),
    ("sudo editorial-assistant backup list", "  backup  timer   ", None),
    ("systemctl list-timers editorial-assistant-backup.timer", TIMER, None),
    (
        "sudo journalctl -u editorial-assistant-backup.service -n 20 --no-pager",
        "backup run 1 ok",
        None,
    ),
    ("sudo restic -r /var/backups/editorial-assistant/restic snapshots", "daily", PASSWORD),
    (
        "sudo restic -r /var/backups/editorial-assistant/restic snapshots --tag archive",
        "",  # nothing is 90 days old yet
        PASSWORD,
    ),
]
# The guide's S3 steps run here as written (they only write files); its SFTP line is checked.
S3_COMMANDS = [
    "sudo install -d -o editorial-assistant -g editorial-assistant -m 0700 "
    "/var/lib/editorial-assistant/.aws",
    "printf '[default]\\naws_access_key_id = AKIA…\\naws_secret_access_key = …\\n' | sudo -u "
    "editorial-assistant tee /var/lib/editorial-assistant/.aws/credentials >/dev/null",
    "sudo chmod 0600 /var/lib/editorial-assistant/.aws/credentials",
    "printf '[backup]\\nrestic_repository = \"s3:https://s3.us-east-1.amazonaws.com/"
    "station-backups/editorial-assistant\"\\n' | sudo tee "
    "/etc/editorial-assistant/conf.d/50-backup.toml",
    "printf '[backup]\\nrestic_repository = \"sftp:backup@nas.example.org:/srv/restic/"
    "editorial-assistant\"\\n' | sudo tee /etc/editorial-assistant/conf.d/50-backup.toml",
]


@pytest.fixture
def box(installed: Container) -> Container:
    """A container with the package installed (the shared ``installed`` fixture)."""
    return installed


def runs(box: Container) -> list[dict[str, Any]]:
    return list(json.loads(box.run("editorial-assistant backup list --json").stdout))


def run_guide(box: Container, commands: list[tuple[str, str, str | None]]) -> None:
    text = " ".join(GUIDE.read_text(encoding="utf-8").split())
    for command, expected, stdin in commands:
        assert " ".join(command.split()) in text, f"not in the guide: {command}"
        done = box.run(command, check=False, timeout=180, input=stdin)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        assert expected in done.stdout, f"{command}: {expected!r} not in\n{done.stdout[-2000:]}"


def test_the_guide_sets_up_a_timer_run_that_restic_can_give_back_byte_for_byte(
    box: Container,
) -> None:
    for unit in (SERVICE, TIMER):
        verified = box.run(["systemd-analyze", "verify", unit], check=False)
        assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
    exposure = box.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", "--no-pager", SERVICE],
        check=False,
    )
    assert exposure.returncode == 0, exposure.stdout[-1500:]
    print(f"\n{SERVICE}: {exposure.stdout.strip().splitlines()[-1]}")
    # Installing armed the timer: it is part of editorial-assistant.target.
    assert box.systemctl("is-active", TIMER).stdout.strip() == "active"
    assert box.systemctl("show", "-P", "NextElapseUSecRealtime", TIMER).stdout.strip()
    job_id = upload(box, "2WLI1209HD.srt", SRT)
    wait_job(box, job_id, "completed")

    run_guide(box, GUIDE_COMMANDS)
    [run] = runs(box)
    assert run["result"] == "ok" and run["trigger"] == "timer", run
    assert box.unit_state(SERVICE)["Result"] == "success"
    dropin = f"/etc/systemd/system/{SERVICE}.d/50-encrypted-credentials.conf"
    assert "LoadCredentialEncrypted=restic_password:" in box.run(["cat", dropin]).stdout

    # What restic holds is what the data folder holds, byte for byte.
    box.run(
        ["restic", "-r", REPOSITORY, "restore", run["restic_snapshot_id"], "--target", "/srv/back"],
        input=PASSWORD,
        timeout=120,
    )
    for folder in ("transcripts", "outputs"):
        live = box.run(f"cd {DATA}/{folder} && find . -type f | sort | xargs sha256sum").stdout
        back = box.run(f"cd /srv/back{DATA}/{folder} && find . -type f | sort | xargs sha256sum")
        assert live == back.stdout and "2WLI1209HD" in live, folder
    daily = f"/srv/back{DATA}/snapshots/{run['snapshot_file']}"
    rows = box.run(
        f"zcat {daily} > /srv/daily.db && sqlite3 /srv/daily.db 'SELECT count(*) FROM jobs'"
    )
    assert rows.stdout.strip() == "1"

    # Nothing secret on a command line, in the unit's environment or in the journal.
    journal = box.run(["journalctl", "-b", "--no-pager", "-o", "verbose"]).stdout
    assert PASSWORD not in journal and "backup run 1 ok" in journal
    assert PASSWORD not in box.systemctl("show", "-p", "Environment", SERVICE).stdout
    owners = box.run(f"find {DATA} /var/backups/editorial-assistant ! -user editorial-assistant")
    assert owners.stdout.strip() == ""

    for command in S3_COMMANDS:
        assert " ".join(command.split()) in " ".join(GUIDE.read_text().split()), command
        assert box.run(command, check=False).returncode == 0, command
        assert "configuration OK" in box.run("sudo editorial-assistant config check").stdout
    assert box.run(["stat", "-c", "%a %U", f"{DATA}/.aws/credentials"]).stdout.strip() == (
        "600 editorial-assistant"
    )


def test_each_failure_fails_the_unit_and_says_why(box: Container) -> None:
    run_guide(box, GUIDE_COMMANDS[:5])  # set up, not run yet
    box.run("printf '%s' 'not the password' | editorial-assistant secret set restic_password")
    started = box.systemctl("start", SERVICE, check=False)
    assert started.returncode != 0
    assert box.unit_state(SERVICE)["Result"] == "exit-code"
    [run] = runs(box)
    assert run["result"] == "failed" and "wrong password" in run["error"], run
    errors = box.run(["journalctl", "-b", "-u", SERVICE, "-p", "err", "--no-pager", "-o", "cat"])
    assert "backup run 1 failed: restic cat config" in errors.stdout
    alert = box.run(["journalctl", "-b", f"MESSAGE_ID={MESSAGE_IDS['failed']}", "-o", "cat"])
    assert alert.stdout.startswith("backup run 1 failed: restic cat config"), alert.stdout
    status = box.run("editorial-assistant backup status", check=False)
    assert status.returncode == 1 and "restic_wrong_password" in status.stdout

    # The disk is not mounted: an empty folder where the repository was. Nothing is created.
    box.run(f"printf '%s' '{PASSWORD}' | editorial-assistant secret set restic_password")
    box.run(f"mv {REPOSITORY} /srv/elsewhere && install -d -o editorial-assistant {REPOSITORY}")
    assert box.systemctl("start", SERVICE, check=False).returncode != 0
    latest = runs(box)[0]
    assert latest["result"] == "failed" and latest["details"]["code"] == "restic_no_repository"
    assert box.run(["ls", "-A", REPOSITORY]).stdout.strip() == ""
