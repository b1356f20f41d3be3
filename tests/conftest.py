"""Shared fixtures: settings on a temporary data folder, the real app in process, the corpus."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from editorial_assistant.app import create_app
from editorial_assistant.audit.service import Who
from editorial_assistant.auth.keyring import load_keyring
from editorial_assistant.auth.keys import create_key
from editorial_assistant.auth.users import create_user, get_user
from editorial_assistant.config import Settings, load_settings
from editorial_assistant.db import connect, migrate, utcnow
from editorial_assistant.worker import Worker

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "transcripts"


def pytest_sessionstart(session: pytest.Session) -> None:
    """At package build, prove the suite exercises the built venv, not the source tree."""
    venv = os.environ.get("EA_TEST_INSTALLED_VENV")
    if venv:
        import editorial_assistant

        where = Path(editorial_assistant.__file__).resolve()
        assert where.is_relative_to(Path(venv).resolve()), f"testing {where}, not {venv}"


def corpus_dir() -> Path | None:
    """The station's caption files, when this checkout sits beside ``../shared``."""
    folder = Path(os.environ.get("EA_CORPUS_DIR", CORPUS))
    return folder if folder.is_dir() else None


@pytest.fixture
def corpus() -> Path:
    folder = corpus_dir()
    if folder is None:
        pytest.skip("the caption corpus (../shared/corpus/transcripts) is not present")
    return folder


def make_settings(tmp_path: Path, **env: str) -> Settings:
    """Settings that read no /etc file and write only under ``tmp_path``.

    Rate limits are off unless a test turns them on (``EA_RATE_LIMITS_ENABLED="true"``): many
    tests send more requests from one address than a person would.
    """
    config = tmp_path / "config.toml"
    if not config.exists():
        config.write_text("", encoding="utf-8")
    environ = {
        "EA_DATA_DIR": str(tmp_path / "data"),
        "EA_CONFIG": str(config),
        "EA_CREDENTIALS_DIR": str(tmp_path / "no-credentials"),
        "EA_RATE_LIMITS_ENABLED": "false",
        **env,
    }
    return load_settings(environ)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path)
    migrate(settings.database_path)
    return settings


def add_persona(settings: Settings, username: str, role: str, **user: str) -> str:
    """Create an account and an API key that belongs to it; return the key."""
    conn = connect(settings.database_path)
    try:
        who = Who("test")
        if get_user(conn, username=username) is None:
            create_user(conn, username=username, role=role, who=who, now=utcnow(), **user)
        key, _row = create_key(
            conn,
            name=f"{username}-key",
            role=role,
            username=username,
            keyring=load_keyring(settings),
            who=who,
            now=utcnow(),
        )
    finally:
        conn.close()
    return key


def bearer(key: str) -> dict[str, str]:
    """The header that sends an API key."""
    return {"Authorization": f"Bearer {key}"}


@contextmanager
def admin_client(settings: Settings, **options: Any) -> Iterator[TestClient]:
    """The real app in process, signed in as alice (admin) with her API key."""
    key = add_persona(settings, "alice", "admin", email="alice@station.example")
    with TestClient(create_app(settings), headers=bearer(key), **options) as client:
        yield client


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with admin_client(settings, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def anonymous(client: TestClient) -> Iterator[TestClient]:
    """The same app as ``client``, with no credentials."""
    with TestClient(client.app, raise_server_exceptions=False) as other:
        yield other


@pytest.fixture
def worker(settings: Settings) -> Worker:
    """A worker whose jobs run in the test's thread (``worker.run(job_id)``)."""
    return Worker(settings)


SRT = (
    "1\r\n00:00:01,000 --> 00:00:04,000\r\n- Angela Fitzgerald: Welcome to\r\n"
    "<i>Wisconsin Life.</i>\r\n\r\n2\r\n00:00:04,500 --> 00:00:08,000\r\n[gentle music]\r\n\r\n"
    "3\r\n00:00:08,000 --> 00:00:12,000\r\n- Cindy Bentley: Thank you for having me here.\r\n\r\n"
)


def upload(client: TestClient, name: str, data: bytes | str, **form: str):  # type: ignore[no-untyped-def]
    """POST a file to the intake endpoint."""
    body = data.encode("utf-8") if isinstance(data, str) else data
    return client.post("/api/transcripts", files={"file": (name, body)}, data=form)
