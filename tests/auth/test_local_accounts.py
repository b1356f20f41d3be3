"""Local accounts from a browser's side: sign in, cookies, CSRF, timeouts, lockout, links."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from editorial_assistant.app import create_app
from editorial_assistant.config import Settings
from editorial_assistant.db import migrate
from tests.auth.helpers import PASSWORD, audit_count, give_password, sign_in
from tests.conftest import SRT, add_persona, make_settings, upload


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(tmp_path, clock: Clock):  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, EA_AUTH_LOCKOUT_THRESHOLD="3")
    migrate(settings.database_path)
    add_persona(settings, "alice", "admin")
    add_persona(settings, "bob", "editor")
    give_password(settings, "bob")
    return create_app(settings, clock=clock)


@pytest.fixture
def browser(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def settings_of(app) -> Settings:  # type: ignore[no-untyped-def]
    return app.state.settings  # type: ignore[no-any-return]


def test_signing_in_sets_a_hardened_session_cookie(browser: TestClient) -> None:
    response = browser.post("/api/auth/login", json={"username": "bob", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("ea_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http on the test client
    me = browser.get("/api/auth/me").json()
    assert me["name"] == "bob" and me["role"] == "editor" and me["via"] == "session"
    assert me["csrf_token"] == response.json()["csrf_token"]


def test_the_cookie_is_secure_when_the_request_came_over_https(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver") as client:
        response = client.post("/api/auth/login", json={"username": "bob", "password": PASSWORD})
    assert "Secure" in response.headers["set-cookie"]


def test_a_session_token_is_stored_only_as_a_digest(browser: TestClient, app) -> None:  # type: ignore[no-untyped-def]
    browser.post("/api/auth/login", json={"username": "bob", "password": PASSWORD})
    token = browser.cookies["ea_session"]
    with sqlite3.connect(settings_of(app).database_path) as conn:
        stored = conn.execute("SELECT token_hash FROM sessions").fetchone()[0]
    assert token not in stored and len(stored) == 64


def test_a_browser_write_without_the_csrf_token_is_refused(app) -> None:  # type: ignore[no-untyped-def]
    browser = sign_in(app, "bob")
    assert upload(browser, "2WLI1209HD.srt", SRT).status_code == 201
    del browser.headers["X-CSRF-Token"]
    refused = browser.post("/api/jobs/1/pause")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    browser.headers["X-CSRF-Token"] = "0" * 64
    assert browser.post("/api/jobs/1/pause").status_code == 403
    assert browser.get("/api/jobs/1").status_code == 200  # reads need no token


def test_a_session_ends_after_the_idle_timeout(app, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    browser = sign_in(app, "bob")
    clock.advance(minutes=59)
    assert browser.get("/api/auth/me").status_code == 200
    clock.advance(minutes=61)
    expired = browser.get("/api/auth/me")
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "session_expired"


def test_a_busy_session_still_ends_at_the_absolute_timeout(app, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    browser = sign_in(app, "bob")
    for _ in range(24):
        clock.advance(minutes=30)
        status = browser.get("/api/auth/me").status_code
        if clock.now < datetime(2026, 11, 26, 21, 0, tzinfo=timezone.utc):
            assert status == 200
    assert browser.get("/api/auth/me").status_code == 401


def test_signing_out_ends_the_session(app) -> None:  # type: ignore[no-untyped-def]
    browser = sign_in(app, "bob")
    assert browser.post("/api/auth/logout").status_code == 204
    assert browser.get("/api/auth/me").status_code == 401


def test_failed_sign_ins_lock_the_account_until_an_admin_unlocks_it(
    app, browser: TestClient, clock: Clock
) -> None:  # type: ignore[no-untyped-def]
    wrong = {"username": "bob", "password": "not the password"}
    assert [browser.post("/api/auth/login", json=wrong).status_code for _ in range(3)] == [
        401,
        401,
        403,
    ]
    right = {"username": "bob", "password": PASSWORD}
    locked = browser.post("/api/auth/login", json=right)
    assert locked.status_code == 403 and locked.json()["error"]["code"] == "account_locked"
    settings = settings_of(app)
    assert audit_count(settings, "auth.lockout") == 1
    assert audit_count(settings, "auth.login_failed") == 4
    admin = TestClient(
        app, headers={"Authorization": f"Bearer {add_persona(settings, 'alice', 'admin')}"}
    )
    assert admin.post("/api/users/bob/unlock").status_code == 200
    assert browser.post("/api/auth/login", json=right).status_code == 200


def test_a_lock_expires_by_itself(browser: TestClient, clock: Clock) -> None:
    for _ in range(3):
        browser.post("/api/auth/login", json={"username": "bob", "password": "nope nope nope"})
    clock.advance(minutes=16)
    right = {"username": "bob", "password": PASSWORD}
    assert browser.post("/api/auth/login", json=right).status_code == 200


def test_unknown_accounts_and_wrong_passwords_get_the_same_answer(browser: TestClient) -> None:
    ghost = browser.post("/api/auth/login", json={"username": "ghost", "password": "x" * 12})
    wrong = browser.post("/api/auth/login", json={"username": "bob", "password": "x" * 12})
    assert ghost.status_code == wrong.status_code == 401
    assert ghost.json()["error"]["message"] == wrong.json()["error"]["message"]


def test_the_sign_in_form_redirects_only_within_the_site(browser: TestClient) -> None:
    form = {"username": "bob", "password": PASSWORD}
    for target, expected in (
        ("/api/jobs", "/api/jobs"),
        ("//evil.example", "/"),
        ("https://x", "/"),
    ):
        response = browser.post("/login", data={**form, "next": target}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == expected
    bad = browser.post("/login", data={"username": "bob", "password": "wrong password"})
    assert bad.status_code == 401 and "Wrong username or password." in bad.text


def test_a_page_sends_a_visitor_without_a_session_to_sign_in(browser: TestClient) -> None:
    response = browser.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/"


def test_a_one_time_link_signs_in_once(app, browser: TestClient) -> None:  # type: ignore[no-untyped-def]
    key = add_persona(settings_of(app), "alice", "admin")
    admin = TestClient(app, headers={"Authorization": f"Bearer {key}"})
    url = admin.post("/api/users/bob/login-link").json()["url"]
    token = url.split("token=")[1]
    page = browser.get(f"/login/link?token={token}")
    assert page.status_code == 200 and "<form" in page.text  # a previewer's GET spends nothing
    used = browser.post("/login/link", data={"token": token}, follow_redirects=False)
    assert used.status_code == 303 and browser.get("/api/auth/me").json()["name"] == "bob"
    with TestClient(app, raise_server_exceptions=False) as other:
        again = other.post("/login/link", data={"token": token}, follow_redirects=False)
    assert again.status_code == 401


def test_changing_the_password_needs_the_current_one(app) -> None:  # type: ignore[no-untyped-def]
    browser = sign_in(app, "bob")
    wrong = {"current_password": "wrong password!", "new_password": "a new long passphrase"}
    assert browser.post("/api/auth/password", json=wrong).status_code == 401
    short = {"current_password": PASSWORD, "new_password": "short"}
    assert browser.post("/api/auth/password", json=short).status_code == 422
    other = sign_in(app, "bob")
    right = {"current_password": PASSWORD, "new_password": "a new long passphrase"}
    assert browser.post("/api/auth/password", json=right).status_code == 204
    assert browser.get("/api/auth/me").status_code == 200  # this session stays
    assert other.get("/api/auth/me").status_code == 401  # the other one ends
    sign_in(app, "bob", "a new long passphrase")


def test_password_sign_in_is_off_outside_local_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, EA_AUTH_MODE="keys-only")
    migrate(settings.database_path)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.post("/api/auth/login", json={"username": "a", "password": "b"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "password_sign_in_off"


def test_an_account_without_a_password_sets_its_first_one_after_a_link(app) -> None:  # type: ignore[no-untyped-def]
    settings = settings_of(app)
    admin = TestClient(
        app, headers={"Authorization": f"Bearer {add_persona(settings, 'alice', 'admin')}"}
    )
    admin.post("/api/users", json={"username": "erin", "role": "viewer"})
    token = admin.post("/api/users/erin/login-link").json()["url"].split("token=")[1]
    with TestClient(app, raise_server_exceptions=False) as browser:
        browser.post("/login/link", data={"token": token}, follow_redirects=False)
        browser.headers["X-CSRF-Token"] = browser.get("/api/auth/me").json()["csrf_token"]
        first = browser.post("/api/auth/password", json={"new_password": "erin's first passphrase"})
        assert first.status_code == 204
        again = browser.post("/api/auth/password", json={"new_password": "no current given here"})
    assert again.status_code == 401  # now that there is a password, it is asked for
    sign_in(app, "erin", "erin's first passphrase")


def test_a_sign_in_link_does_nothing_outside_local_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, EA_AUTH_MODE="keys-only")
    migrate(settings.database_path)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.post("/login/link", data={"token": "x" * 43}, follow_redirects=False)
    assert response.status_code == 409 and "ea_session" not in response.headers.get(
        "set-cookie", ""
    )


def test_a_sign_in_form_posted_from_another_site_is_refused(browser: TestClient) -> None:
    form = {"username": "bob", "password": PASSWORD}
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = browser.post("/login", data=form, headers=headers, follow_redirects=False)
        assert refused.status_code == 403 and "another site" in refused.text
        assert "ea_session" not in browser.cookies
    same = browser.post(
        "/login", data=form, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert same.status_code == 303
