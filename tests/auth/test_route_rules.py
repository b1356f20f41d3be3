"""Every route declares one access rule; every route that changes data leaves an audit entry."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from editorial_assistant.auth.rules import Rule, declared_routes
from editorial_assistant.config import Settings
from editorial_assistant.worker import Worker
from tests.auth.helpers import PASSWORD, audit_count, give_password, sign_in
from tests.conftest import SRT, add_persona, bearer, upload

PUBLIC = {
    "GET /healthz",
    "GET /readyz",
    "GET /login",
    "POST /login",
    "GET /login/link",
    "POST /login/link",
    "POST /api/auth/login",
}
SAMPLE_PARAMS = {
    "job_id": "1",
    "action": "pause",
    "phase": "seo",
    "name": "seo.md",
    "username": "carol",
    "media_id": "2WLI1209HD",
    "key_id": "1",
}


def routes(client: TestClient) -> list[tuple[str, str, Rule]]:
    """(method, path, rule) for every route of the real app."""
    found = []
    for route in declared_routes(client.app):
        if route.mount:
            assert route.path == "/static", f"unexpected mount {route.path}"
            continue
        assert len(route.rules) == 1, f"{route.path} declares {len(route.rules)} access rules"
        found += [(method, route.path, route.rules[0]) for method in route.methods]
    return found


def test_every_route_declares_exactly_one_access_rule(client: TestClient) -> None:
    assert len(routes(client)) >= 30


def test_only_the_health_probes_and_signing_in_are_public(client: TestClient) -> None:
    public = {f"{method} {path_}" for method, path_, rule in routes(client) if rule.public}
    assert public == PUBLIC


def test_every_other_route_refuses_a_caller_without_credentials(
    client: TestClient, anonymous: TestClient
) -> None:
    for method, path_, rule in routes(client):
        if rule.public:
            continue
        path = path_.format(**SAMPLE_PARAMS)
        response = anonymous.request(method, path, follow_redirects=False)
        if rule.page:
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/login?next=")
        else:
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["error"]["code"] == "unauthenticated"


def test_a_forged_or_malformed_key_is_refused_everywhere(client: TestClient) -> None:
    for header in ("Bearer eak_00000000_" + "A" * 43, "Bearer nonsense", "Basic YWxpY2U6eA==", ""):
        for method, path_, rule in routes(client):
            if rule.public:
                continue
            path = path_.format(**SAMPLE_PARAMS)
            response = client.request(
                method, path, headers={"Authorization": header}, follow_redirects=False
            )
            assert response.status_code == (303 if rule.page else 401), (header, method, path)


# One successful call per route that changes something; a new route fails the test below
# until it is added here (and writes its audit entry).
Scenario = Callable[[TestClient, Settings, Worker], httpx.Response]


def _job(client: TestClient) -> int:
    return int(upload(client, "2WLI1209HD.srt", SRT).json()["job"]["id"])


def _finished_job(client: TestClient, worker: Worker) -> int:
    job_id = _job(client)
    worker.run(job_id)
    return job_id


def _session(client: TestClient, settings: Settings) -> TestClient:
    give_password(settings, "alice")
    return sign_in(client.app, "alice")


def _carol(settings: Settings) -> None:
    add_persona(settings, "carol", "viewer")


SCENARIOS: dict[str, Scenario] = {
    "POST /api/transcripts": lambda c, s, w: upload(c, "2WLI1209HD.srt", SRT),
    "POST /api/jobs/{job_id}/{action}": lambda c, s, w: c.post(f"/api/jobs/{_job(c)}/pause"),
    "POST /api/jobs/{job_id}/phases/{phase}/retry": lambda c, s, w: c.post(
        f"/api/jobs/{_finished_job(c, w)}/phases/seo/retry"
    ),
    "PATCH /api/jobs/{job_id}": lambda c, s, w: c.patch(
        f"/api/jobs/{_job(c)}", json={"priority": 5}
    ),
    "POST /api/auth/login": lambda c, s, w: (
        give_password(s, "alice"),
        TestClient(c.app).post("/api/auth/login", json={"username": "alice", "password": PASSWORD}),
    )[1],
    "POST /api/auth/logout": lambda c, s, w: _session(c, s).post("/api/auth/logout"),
    "POST /api/auth/password": lambda c, s, w: _session(c, s).post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "another long passphrase"},
    ),
    "POST /login": lambda c, s, w: (
        give_password(s, "alice"),
        TestClient(c.app).post(
            "/login", data={"username": "alice", "password": PASSWORD}, follow_redirects=False
        ),
    )[1],
    "POST /login/link": lambda c, s, w: TestClient(c.app).post(
        "/login/link",
        data={"token": c.post("/api/users/alice/login-link").json()["url"].split("token=")[1]},
        follow_redirects=False,
    ),
    "POST /api/users": lambda c, s, w: c.post(
        "/api/users", json={"username": "dan", "role": "editor"}
    ),
    "PATCH /api/users/{username}": lambda c, s, w: (
        _carol(s),
        c.patch("/api/users/carol", json={"role": "editor"}),
    )[1],
    "POST /api/users/{username}/unlock": lambda c, s, w: (
        _carol(s),
        c.post("/api/users/carol/unlock"),
    )[1],
    "POST /api/users/{username}/login-link": lambda c, s, w: (
        _carol(s),
        c.post("/api/users/carol/login-link"),
    )[1],
    "POST /api/keys": lambda c, s, w: c.post(
        "/api/keys", json={"name": "ingest", "role": "editor"}
    ),
    "DELETE /api/keys/{key_id}": lambda c, s, w: c.delete(
        f"/api/keys/{c.post('/api/keys', json={'name': 'x', 'role': 'viewer'}).json()['id']}"
    ),
    "PUT /api/projects/{media_id}/access/{username}": lambda c, s, w: (
        _carol(s),
        c.put("/api/projects/2WLI1209HD/access/carol", json={"role": "editor"}),
    )[1],
    "DELETE /api/projects/{media_id}/access/{username}": lambda c, s, w: (
        _carol(s),
        c.put("/api/projects/2WLI1209HD/access/carol", json={"role": "editor"}),
        c.delete("/api/projects/2WLI1209HD/access/carol"),
    )[2],
}


def test_every_route_that_changes_data_has_an_audit_scenario(client: TestClient) -> None:
    changing = {
        f"{method} {path_}"
        for method, path_, _rule in routes(client)
        if method in ("POST", "PUT", "PATCH", "DELETE")
    }
    assert changing == set(SCENARIOS)


@pytest.mark.parametrize("route", sorted(SCENARIOS))
def test_a_change_through_the_api_writes_an_audit_entry(
    route: str, client: TestClient, settings: Settings, worker: Worker
) -> None:
    before = audit_count(settings)
    setup_entries = 0
    response = SCENARIOS[route](client, settings, worker)
    assert response.status_code < 400, (route, response.text)
    assert audit_count(settings) > before + setup_entries, route


def test_keys_and_sessions_only_reach_what_their_role_allows(
    client: TestClient, settings: Settings
) -> None:
    viewer = bearer(add_persona(settings, "carol", "viewer"))
    assert client.get("/api/jobs", headers=viewer).status_code == 200
    assert upload(client, "2WLI1209HD.srt", SRT).status_code == 201
    assert client.post("/api/jobs/1/pause", headers=viewer).status_code == 403
    assert client.get("/api/users", headers=viewer).status_code == 403
    assert client.get("/api/audit", headers=viewer).status_code == 403
