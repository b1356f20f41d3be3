"""Access mode from the user's side: the real app behind a fake Cloudflare team (a real JWKS)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from editorial_assistant.app import create_app
from editorial_assistant.db import migrate
from tests.auth.helpers import audit_count
from tests.conftest import SRT, add_persona, make_settings, upload
from tests.fakes.cloudflare_access import AUD, FakeCloudflareAccess
from tests.system.processes import environment, run

HEADER = "Cf-Access-Jwt-Assertion"


@pytest.fixture
def team() -> Iterator[FakeCloudflareAccess]:
    with FakeCloudflareAccess() as fake:
        yield fake


def access_app(tmp_path: Path, team: FakeCloudflareAccess, **env: str):  # type: ignore[no-untyped-def]
    settings = make_settings(
        tmp_path,
        EA_AUTH_MODE="access",
        EA_ACCESS_TEAM_DOMAIN=team.team_domain,
        EA_ACCESS_AUD=AUD,
        EA_ACCESS_CERTS_URL=team.certs_url,
        **env,
    )
    migrate(settings.database_path)
    add_persona(settings, "alice", "admin", email="alice@example.org")
    return create_app(settings)


@pytest.fixture
def app(tmp_path: Path, team: FakeCloudflareAccess):  # type: ignore[no-untyped-def]
    return access_app(tmp_path, team)


def signed(team: FakeCloudflareAccess, **claims: object) -> dict[str, str]:
    return {HEADER: team.mint(team.claims(now=time.time(), **claims))}


def test_a_valid_token_signs_in_the_account_with_that_email(app, team) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as client:
        me = client.get("/api/auth/me", headers=signed(team))
    assert me.status_code == 200
    assert me.json()["name"] == "alice" and me.json()["via"] == "access"
    assert me.json()["csrf_token"]


def test_without_the_header_nothing_is_open_not_even_with_the_cookie(app, team) -> None:  # type: ignore[no-untyped-def]
    token = signed(team)[HEADER]
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/jobs").status_code == 401
        client.cookies.set("CF_Authorization", token)
        refused = client.get("/api/jobs")
    assert refused.status_code == 401
    assert "Cf-Access-Jwt-Assertion" in refused.json()["error"]["message"]


def test_an_expired_or_foreign_token_is_refused_and_audited(app, team) -> None:  # type: ignore[no-untyped-def]
    settings = app.state.settings
    with TestClient(app, raise_server_exceptions=False) as client:
        expired = client.get("/api/jobs", headers=signed(team, exp=int(time.time()) - 3600))
        foreign = client.get("/api/jobs", headers=signed(team, aud=["0" * 64]))
    assert expired.status_code == foreign.status_code == 401
    assert "expired" in expired.json()["error"]["message"]
    assert audit_count(settings, "auth.access_denied") == 2


def test_an_unknown_email_is_refused_unless_auto_provisioning_is_on(
    tmp_path: Path, app, team: FakeCloudflareAccess
) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as client:
        refused = client.get("/api/jobs", headers=signed(team, email="dana@example.org"))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "no_account"
    (tmp_path / "auto").mkdir()
    provisioning = access_app(tmp_path / "auto", team, EA_AUTH_ACCESS_AUTO_PROVISION="true")
    with TestClient(provisioning, raise_server_exceptions=False) as client:
        headers = signed(team, email="dana@example.org")
        assert client.get("/api/auth/me", headers=headers).json()["role"] == "viewer"
        assert upload(client, "2WLI1209HD.srt", SRT).status_code == 401
        denied = client.post("/api/transcripts", headers=headers, files={"file": ("a.srt", SRT)})
    assert denied.status_code == 403  # a viewer (and no CSRF token either)
    assert audit_count(provisioning.state.settings, "auth.access_provisioned") == 1


def test_a_browser_write_through_access_needs_the_csrf_token(app, team) -> None:  # type: ignore[no-untyped-def]
    headers = signed(team)
    files = {"file": ("2WLI1209HD.srt", SRT)}
    with TestClient(app, raise_server_exceptions=False) as client:
        refused = client.post("/api/transcripts", headers=headers, files=files)
        csrf = client.get("/api/auth/me", headers=headers).json()["csrf_token"]
        accepted = client.post(
            "/api/transcripts", headers={**headers, "X-CSRF-Token": csrf}, files=files
        )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    assert accepted.status_code == 201


def test_an_api_key_works_in_access_mode_without_a_token(app) -> None:  # type: ignore[no-untyped-def]
    key = add_persona(app.state.settings, "bob", "editor")
    with TestClient(app) as client:
        response = client.post(
            "/api/transcripts",
            headers={"Authorization": f"Bearer {key}"},
            files={"file": ("2WLI1209HD.srt", SRT)},
        )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "access_team_domain"),
        ({"EA_ACCESS_TEAM_DOMAIN": "station.example.com"}, "access_team_domain"),
        ({"EA_ACCESS_TEAM_DOMAIN": "station.cloudflareaccess.com"}, "access_aud"),
        (
            {"EA_ACCESS_TEAM_DOMAIN": "station.cloudflareaccess.com", "EA_ACCESS_AUD": "x"},
            "access_aud",
        ),
    ],
)
def test_a_misconfigured_access_mode_refuses_to_start(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    result = run(["api", "--port", "1"], environment(tmp_path, EA_AUTH_MODE="access", **env))
    assert result.returncode == 2
    assert named in result.stderr and "Traceback" not in result.stderr


def test_under_access_the_dashboard_simply_knows_the_person(app, team) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get("/", headers={**signed(team), "Accept": "text/html"})
        assert page.status_code == 200
        assert 'alice <span class="role">(admin)</span>' in page.text
        assert '<meta name="csrf-token" content="' in page.text
        assert "Sign out" not in page.text  # Access signs people out, not this page
        # Without Access's header there is no password form to go to: a page says why.
        bare = client.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert bare.status_code == 401
    assert "<code>unauthenticated</code>" in bare.text
    assert "Cf-Access-Jwt-Assertion" in bare.text
