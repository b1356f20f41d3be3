"""The attack suite's fixtures: seeded data, personas, and a sender that checks every response.

``seeded`` gives the app a finished job with outputs (job 1, 2WLI1209HD), a queued one (job 2),
and the personas alice (admin), bob (editor) and carol (viewer), each with an API key already
used once. ``attacker("admin")`` or ``attacker("viewer")`` returns an ``Attack`` whose ``send``
runs one request as that persona and records every problem ``guard`` finds; ``report`` fails the
test with all of them at once.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import editorial_assistant
from editorial_assistant.config import Settings
from editorial_assistant.worker import Worker
from tests.conftest import SRT, add_persona, bearer, upload
from tests.security.guard import Watch, data_problems, response_problems
from tests.security.surface import Endpoint, endpoints

PASSWD = Path("/etc/passwd")
MARKER = "ea-escape-probe"  # in every file name an attack tries to write; found nowhere after


@dataclass
class Attack:
    """Sends requests as one persona and collects what went wrong, without stopping."""

    client: TestClient
    settings: Settings
    watch: Watch
    headers: dict[str, str]
    secrets: tuple[str, ...]
    failures: list[str] = field(default_factory=list)
    sent: int = 0

    def send(self, label: str, **request: Any) -> httpx.Response:
        """One request, checked: the response, and the data before against after."""
        headers = {**self.headers, **request.pop("headers", {})}
        response = self.client.request(**request, headers=headers, follow_redirects=False)
        self.sent += 1
        before, after = self.watch.step()
        status = response.status_code
        problems = response_problems(response, secrets=self.secrets)
        problems += data_problems(before, after, method=request["method"], status=status)
        self.failures += [f"{label} -> {status}: {problem}" for problem in problems]
        return response

    def settle(self) -> None:
        """Take what the test's own setup changed as the starting point."""
        self.watch.step()

    def expect(self, label: str, ok: bool, problem: str) -> None:
        """Record ``problem`` unless ``ok``."""
        if not ok:
            self.failures.append(f"{label}: {problem}")

    def report(self) -> None:
        """Fail with every problem found (the first 60), after checking nothing escaped."""
        self.failures += escapes(self.settings)
        shown = "\n".join(self.failures[:60])
        assert not self.failures, f"{len(self.failures)} problems in {self.sent} requests:\n{shown}"


def escapes(settings: Settings) -> list[str]:
    """Files named after an attack's probe anywhere a traversal could have put them."""
    places = [Path.cwd(), Path.cwd().parent, Path("/tmp"), Path("/"), Path("/etc")]
    found = [p for place in places for p in place.glob(f"*{MARKER}*")]
    # An upload's Media ID comes from its file name: transcripts/<Media ID>/ is where it belongs.
    stored = settings.data_dir / "transcripts"
    found += [p for p in settings.data_dir.parent.rglob(f"*{MARKER}*") if p.parent != stored]
    return [f"a file escaped: {path}" for path in found]


@pytest.fixture
def seeded(client: TestClient, settings: Settings, worker: Worker) -> dict[str, str]:
    """Two jobs (one finished with outputs) and the three personas' keys, each used once."""
    assert upload(client, "2WLI1209HD.srt", SRT).status_code == 201
    worker.run(1)
    assert upload(client, "2WLI1210HD.srt", SRT).status_code == 201
    keys = {
        "admin": client.headers["Authorization"].removeprefix("Bearer "),
        "editor": add_persona(settings, "bob", "editor"),
        "viewer": add_persona(settings, "carol", "viewer"),
    }
    for key in keys.values():
        assert client.get("/api/auth/me", headers=bearer(key)).status_code == 200
    return keys


@pytest.fixture
def attacker(
    client: TestClient, settings: Settings, seeded: dict[str, str]
) -> Iterator[Callable[[str], Attack]]:
    """``attacker(persona)``: an ``Attack`` with that persona's API key (none: "anonymous")."""
    secret = (settings.data_dir / "auth_secret").read_text(encoding="utf-8").strip()
    secrets = (
        str(settings.data_dir.parent),
        str(Path(editorial_assistant.__file__).resolve().parents[1]),
        sys.prefix,
        "site-packages",
        secret,
        *seeded.values(),
    )
    passwd = hashlib.sha256(PASSWD.read_bytes()).hexdigest() if PASSWD.exists() else ""
    watch = Watch(settings)

    def attack(persona: str) -> Attack:
        headers = {"Authorization": ""} if persona == "anonymous" else bearer(seeded[persona])
        return Attack(client, settings, watch, headers, secrets)

    yield attack
    watch.close()
    if passwd:
        assert hashlib.sha256(PASSWD.read_bytes()).hexdigest() == passwd


@pytest.fixture
def every_endpoint(client: TestClient) -> list[Endpoint]:
    """Every method on every route of the real app."""
    found = endpoints(client.app)
    assert len(found) >= 30
    return found
