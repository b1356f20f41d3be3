"""The real app's rate limits: per caller and per address, with Retry-After."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from editorial_assistant.app import create_app
from editorial_assistant.db import migrate
from tests.conftest import add_persona, bearer, make_settings


def limited_app(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = make_settings(
        tmp_path, EA_RATE_LIMITS_ENABLED="true", EA_RATE_LIMITS_READ="5/minute"
    )
    migrate(settings.database_path)
    return create_app(settings), settings


def test_a_caller_past_the_read_limit_is_told_when_to_come_back(tmp_path: Path) -> None:
    app, settings = limited_app(tmp_path)
    alice, bob = (
        bearer(add_persona(settings, "alice", "admin")),
        bearer(add_persona(settings, "bob", "viewer")),
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        statuses = [client.get("/api/jobs", headers=alice).status_code for _ in range(6)]
        refused = client.get("/api/jobs", headers=alice)
        other = client.get("/api/jobs", headers=bob)
    assert statuses == [200] * 5 + [429]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert other.status_code == 429  # the same address is over its limit too


def test_failed_keys_count_against_the_address(tmp_path: Path) -> None:
    app, settings = limited_app(tmp_path)
    alice = bearer(add_persona(settings, "alice", "admin"))
    forged = bearer("eak_00000000_" + "A" * 43)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert [client.get("/api/jobs", headers=forged).status_code for _ in range(5)] == [401] * 5
        assert client.get("/api/jobs", headers=forged).status_code == 429
        assert client.get("/api/jobs", headers=alice).status_code == 429
    with TestClient(app, raise_server_exceptions=False) as client:  # health probes stay open
        assert client.get("/healthz").status_code == 200
