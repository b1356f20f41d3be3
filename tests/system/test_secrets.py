"""Secrets under a real systemd (252): made at install, encrypted, handed to their units only.

Each test boots the Debian 12 container of test_package.py, installs the package of this tree,
and drives ``editorial-assistant secret`` as station IT would. The worker's OpenRouter key is
seen arriving at a local stand-in for OpenRouter (the worker fetches the price table with it at
start), and nowhere else: not in a unit's environment, a process's, or the journal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.system.nspawn import Container
from tests.system.packages import REPO
from tests.system.test_package import install, ready

pytestmark = [pytest.mark.system, pytest.mark.nspawn]

CREDENTIALS = "/etc/editorial-assistant/credentials"
API = "editorial-assistant-api.service"
WORKER = "editorial-assistant-worker.service"
DROPIN = "50-encrypted-credentials.conf"
KEY = "sk-or-v1-" + "5ec7e75ec7e7" * 4
PORT = 8765
# Answers GET /api/v1/models with an empty model list, noting each request's Authorization.
FAKE_OPENROUTER = f"""
import http.server

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open("/run/fake-openrouter.seen", "a") as seen:
            seen.write(self.headers.get("Authorization", "none") + "\\n")
        body = b'{{"data": []}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", {PORT}), Handler).serve_forever()
"""


@pytest.fixture
def box(installed: Container) -> Container:
    """A container with the package installed (the shared ``installed`` fixture)."""
    return installed


def listed(box: Container) -> dict[str, Any]:
    body = json.loads(box.run(["editorial-assistant", "secret", "list", "--json"]).stdout)
    return {**body, "states": {s["name"]: s["state"] for s in body["secrets"]}}


def files(box: Container) -> list[str]:
    return box.run(["ls", CREDENTIALS]).stdout.split()


def pids(box: Container, unit: str) -> list[str]:
    return box.systemctl("show", "-P", "PIDs", unit).stdout.split() or [
        box.unit_state(unit)["MainPID"]
    ]


def credential(box: Container, unit: str, name: str) -> str:
    """Size, mode and owner of the copy systemd gave ``unit`` (never its content)."""
    path = f"/run/credentials/{unit}/{name}"
    return box.run(["stat", "-c", "%s %a %U", path], check=False).stdout.strip()


def test_install_makes_an_encrypted_root_only_auth_secret_that_reinstalls_keep(
    box: Container, deb: Path
) -> None:
    said = listed(box)
    assert said["encryption"] == "available" and said["stale_dropins"] == []
    assert said["states"]["auth_secret"] == "encrypted"
    assert said["states"]["openrouter_api_key"] == "empty"  # the placeholder: no key yet
    assert "auth_secret" not in files(box)
    cred = f"{CREDENTIALS}/auth_secret.cred"
    assert box.run(["stat", "-c", "%a %U %G", cred]).stdout.strip() == "600 root root"
    assert box.run(["stat", "-c", "%a", CREDENTIALS]).stdout.strip() == "700"
    # The API decrypts it at start; the worker never gets it.
    dropin = box.run(["cat", f"/etc/systemd/system/{API}.d/{DROPIN}"]).stdout
    assert f"LoadCredentialEncrypted=auth_secret:{cred}" in dropin
    assert box.run(
        ["test", "-e", f"/etc/systemd/system/{WORKER}.d/{DROPIN}"], check=False
    ).returncode
    size, mode, owner = credential(box, API, "auth_secret").split()
    assert (size, mode, owner) == ("64", "400", "editorial-assistant")
    assert credential(box, WORKER, "auth_secret") == ""
    # Not even the service's group (cloudflared's user is in it) reads a secret.
    for path in (cred, f"/run/credentials/{API}/auth_secret"):
        tunnel = box.run(
            ["runuser", "-u", "editorial-assistant-tunnel", "--", "cat", path], check=False
        )
        assert tunnel.returncode == 1 and "Permission denied" in tunnel.stderr
    for unit in (API, WORKER):
        verified = box.run(["systemd-analyze", "verify", unit], check=False)
        assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr

    digest = box.run(["sha256sum", cred]).stdout
    install(box, {"current": deb}, "current", "--reinstall")
    assert box.run(["sha256sum", cred]).stdout == digest
    assert ready(box)
    # Purge takes the secrets and the drop-ins that load them.
    box.run(["apt-get", "purge", "-y", "editorial-assistant"], input="", timeout=120)
    gone = box.run(["test", "-e", f"/etc/systemd/system/{API}.d"], check=False)
    assert gone.returncode == 1 and box.run(["test", "-e", CREDENTIALS], check=False).returncode


def test_an_encrypted_key_reaches_the_worker_and_no_environment_and_is_optional(
    box: Container,
) -> None:
    box.run("cat > /srv/fake_openrouter.py", input=FAKE_OPENROUTER)
    box.run(["systemd-run", "--unit=fake-openrouter", "python3", "/srv/fake_openrouter.py"])
    box.run(
        f"printf '[llm]\\nopenrouter_base_url = \"http://127.0.0.1:{PORT}/api/v1\"\\n'"
        " > /etc/editorial-assistant/conf.d/50-fake-openrouter.toml"
    )
    stored = box.run(["editorial-assistant", "secret", "set", "openrouter_api_key"], input=KEY)
    assert "stored encrypted" in stored.stdout and KEY not in stored.stdout + stored.stderr
    assert "openrouter_api_key.cred" in files(box) and "openrouter_api_key" not in files(box)
    box.systemctl("restart", WORKER, API)
    assert worker_fetched_with(box, KEY)
    assert credential(box, WORKER, "openrouter_api_key").split()[:2] == [str(len(KEY)), "400"]

    for unit in (API, WORKER):
        assert KEY not in box.systemctl("show", "-p", "Environment", unit).stdout
        for pid in pids(box, unit):
            environ = box.run(["cat", f"/proc/{pid}/environ"], check=False).stdout
            assert environ and KEY not in environ, f"{unit} {pid}"
    assert KEY not in box.run(["ps", "-eo", "args"]).stdout
    assert KEY not in box.run(["journalctl", "-b", "--no-pager", "-o", "cat"]).stdout

    # Plain on request: the drop-in goes, the unit reads the plain file.
    box.run(["editorial-assistant", "secret", "set", "--plain", "openrouter_api_key"], input=KEY)
    assert "openrouter_api_key.cred" not in files(box)
    assert box.run(
        ["test", "-e", f"/etc/systemd/system/{WORKER}.d/{DROPIN}"], check=False
    ).returncode
    box.run("rm -f /var/lib/editorial-assistant/models.json /run/fake-openrouter.seen")
    box.systemctl("restart", WORKER)
    assert worker_fetched_with(box, KEY)

    # No key at all: both services still start (an empty default, so the local backend).
    box.run(["editorial-assistant", "secret", "delete", "openrouter_api_key"])
    assert "openrouter_api_key" not in " ".join(files(box))
    box.systemctl("restart", WORKER, API)
    for unit in (API, WORKER):
        assert box.unit_state(unit)["ActiveState"] == "active", unit
    assert credential(box, WORKER, "openrouter_api_key").split()[0] == "1"
    assert ready(box)


def worker_fetched_with(box: Container, key: str) -> bool:
    """Whether the worker asked the stand-in for models with ``Bearer <key>``."""
    return box.wait_for(
        lambda: f"Bearer {key}" in box.run("cat /run/fake-openrouter.seen", check=False).stdout,
        timeout=60,
        what="the worker to call OpenRouter with the key",
    )


GUIDE = REPO / "docs" / "guides" / "rotate-secrets.md"
# Commands from the rotation guide, verbatim (each must appear in it), and text the output must
# contain; run in this order they rotate auth_secret and set, check and remove the OpenRouter key.
GUIDE_COMMANDS = [
    ("sudo editorial-assistant secret list", "auth_secret"),
    ("sudo editorial-assistant secret rotate auth_secret", "auth_secret_previous"),
    ("sudo systemctl restart editorial-assistant-api.service", ""),
    ("sudo editorial-assistant secret delete auth_secret_previous", "removed"),
    (
        "printf '%s' 'sk-or-v1-…' | sudo editorial-assistant secret set openrouter_api_key",
        "encrypted",
    ),
    (
        "sudo systemctl restart editorial-assistant-worker.service editorial-assistant-api.service",
        "",
    ),
    (
        "sudo stat -c '%s bytes' "
        "/run/credentials/editorial-assistant-worker.service/openrouter_api_key",
        f"{len('sk-or-v1-…'.encode())} bytes",
    ),
    ("sudo editorial-assistant secret delete openrouter_api_key", "removed"),
    ("sudo editorial-assistant secret set restic_password --generate", "The next run of"),
    ("sudo editorial-assistant secret set auth_secret --generate --if-missing", "already set"),
]


def test_the_rotation_guides_commands_work_as_written(box: Container) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    before = box.run(["sha256sum", f"{CREDENTIALS}/auth_secret.cred"]).stdout
    for command, expected in GUIDE_COMMANDS:
        assert command in text.replace("\n", " "), command
        done = box.run(command, check=False, timeout=90)
        assert done.returncode == 0, f"{command}\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
        assert expected in done.stdout, f"{command}: {expected!r} not in\n{done.stdout[-1500:]}"
        if "restart" in command:
            assert ready(box)
    assert box.run(["sha256sum", f"{CREDENTIALS}/auth_secret.cred"]).stdout != before
    states = listed(box)["states"]
    assert states["auth_secret_previous"] == "not set" and states["restic_password"] == "encrypted"
