"""The admin pages: users, API keys and the audit log, and the forms' contract with the API.

Forms are read from the rendered HTML and sent the way ``static/app.js`` sends them (named
fields as JSON), so a renamed field or a wrong URL or method fails here.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from editorial_assistant.audit.service import Who
from editorial_assistant.auth.keyring import load_keyring
from editorial_assistant.auth.keys import create_key
from editorial_assistant.auth.users import Lockout, authenticate, create_user, update_user
from editorial_assistant.config import Settings
from editorial_assistant.db import connect, utcnow
from editorial_assistant.errors import AppError
from editorial_assistant.web.admin import PER_PAGE
from tests.auth.helpers import PASSWORD, give_password
from tests.conftest import add_persona, bearer
from tests.web.forms import HTML, Page, body_of, cells, found, names, page_of, submit

PAGES = ("/admin/users", "/admin/keys", "/admin/audit")
HOSTILE = "<script>x</script>"
TESTER = Who("tester")
LOCKOUT = Lockout(threshold=1, minutes=60)


@pytest.fixture
def conn(settings: Settings) -> Iterator[sqlite3.Connection]:
    connection = connect(settings.database_path)
    yield connection
    connection.close()


def add_user(
    conn: sqlite3.Connection,
    username: str,
    role: str = "viewer",
    *,
    now: datetime | None = None,
    **fields: Any,
) -> None:
    create_user(conn, username=username, role=role, who=TESTER, now=now or utcnow(), **fields)


def sign_in(conn: sqlite3.Connection, username: str, password: str, now: datetime) -> None:
    """Sign in through the service, where one wrong password locks the account for an hour."""
    authenticate(conn, username=username, password=password, lockout=LOCKOUT, who=TESTER, now=now)


def lock(conn: sqlite3.Connection, username: str) -> None:
    with pytest.raises(AppError, match="locked"):
        sign_in(conn, username, "wrong", utcnow())


def entry_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="entry-(\d+)"', html)]


def test_the_users_page_lists_accounts_with_their_state(
    client: TestClient, conn: sqlite3.Connection
) -> None:
    add_user(conn, "bob", "editor", email="bob@station.example")
    add_user(conn, "carol")
    update_user(conn, username="carol", disabled=True, who=TESTER, now=utcnow())
    add_user(conn, "dave", password=PASSWORD)
    sign_in(conn, "dave", PASSWORD, datetime(2031, 5, 1, 9, 30, tzinfo=timezone.utc))
    lock(conn, "dave")
    html = client.get("/admin/users", headers=HTML).text
    rows = dict(re.findall(r'<tr id="user-([a-z]+)">(.*?)</tr>', html, re.S))
    assert list(rows) == ["alice", "bob", "carol", "dave"]
    assert "(you)" in rows["alice"] and "bob@station.example" in rows["bob"]
    assert '<option value="editor" selected>' in rows["bob"] and "badge ok" in rows["bob"]
    assert 'badge bad">disabled' in rows["carol"] and "Enable" in rows["carol"]
    assert 'badge warn">locked' in rows["dave"]
    assert cells(rows["dave"])[4:6] == ["set", "2031-05-01 09:30 UTC"]  # password, last sign-in
    assert cells(rows["bob"])[4:6] == ["none", "–"]
    page = Page(html)
    assert page.has_form("/api/users/dave/unlock") and not page.has_form("/api/users/bob/unlock")
    assert not page.has_form("/api/users/carol/login-link")  # disabled: no link


def test_an_admin_is_offered_no_control_that_locks_them_out(client: TestClient) -> None:
    page = page_of(client, "/admin/users")
    assert not page.has_form("/api/users/alice", "PATCH")
    assert page.has_form("/api/users/alice/login-link")


def test_the_add_account_form_creates_accounts_through_the_api(client: TestClient) -> None:
    form = page_of(client, "/admin/users").form("/api/users")
    assert body_of(form, username="erin") == {"username": "erin", "role": "viewer"}
    made = submit(client, form, username="Erin", role="editor", email="erin@station.example")
    assert made.status_code == 201 and made.json()["has_password"] is False
    with_password = submit(client, form, username="frank", password="a long passphrase")
    assert with_password.status_code == 201 and with_password.json()["has_password"] is True
    again = submit(client, form, username="erin")
    assert again.status_code == 409 and "already exists" in again.json()["error"]["message"]
    html = client.get("/admin/users").text
    assert 'id="user-erin"' in html and "erin@station.example" in html


def test_the_row_forms_change_role_disable_enable_and_unlock(
    client: TestClient, conn: sqlite3.Connection
) -> None:
    add_user(conn, "bob", password=PASSWORD)
    lock(conn, "bob")
    page = page_of(client, "/admin/users")
    role = page.form("/api/users/bob", "PATCH", "role")
    assert submit(client, role, role="editor").json()["role"] == "editor"
    unlocked = submit(client, page.form("/api/users/bob/unlock"))
    assert unlocked.status_code == 200 and unlocked.json()["locked_until"] is None
    page = page_of(client, "/admin/users")
    disable = page.form("/api/users/bob", "PATCH", "disabled")
    assert disable["attrs"]["data-confirm"].startswith("Disable bob?")
    assert body_of(disable) == {"disabled": "true"}
    assert submit(client, disable).json()["disabled"] is True
    enable = page_of(client, "/admin/users").form("/api/users/bob", "PATCH", "disabled")
    assert "data-confirm" not in enable["attrs"]
    assert submit(client, enable).json()["disabled"] is False
    assert not page_of(client, "/admin/users").has_form("/api/users/bob/unlock")


def test_the_sign_in_link_form_shows_the_link_once(
    client: TestClient, conn: sqlite3.Connection
) -> None:
    add_user(conn, "bob")
    response = client.get("/admin/users")
    form = Page(response.text).form("/api/users/bob/login-link")
    assert form["attrs"]["data-then"] == "result"
    link = submit(client, form)
    assert link.status_code == 200 and "/login/link" in link.json()[form["results"][0]]
    assert "Shown once" in response.text


def test_the_last_admin_cannot_be_disabled_and_the_form_gets_the_reason(
    client: TestClient, settings: Settings, conn: sqlite3.Connection
) -> None:
    key, _row = create_key(
        conn, name="ops", role="admin", keyring=load_keyring(settings), who=TESTER, now=utcnow()
    )
    client.headers.update(bearer(key))  # a key of no account: alice's row is not "you"
    page = page_of(client, "/admin/users")
    refused = submit(client, page.form("/api/users/alice", "PATCH", "disabled"))
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "last_admin" and "only active admin" in error["message"]
    demote = page.form("/api/users/alice", "PATCH", "role")
    assert submit(client, demote, role="editor").status_code == 409


def test_a_signed_in_admin_sends_the_pages_csrf_token_like_app_js(
    client: TestClient, settings: Settings
) -> None:
    give_password(settings, "alice")
    with TestClient(client.app) as browser:
        signed_in = browser.post(
            "/api/auth/login", json={"username": "alice", "password": PASSWORD}
        )
        assert signed_in.status_code == 200
        page = page_of(browser, "/admin/keys")
        form = page.form("/api/keys")
        without_token = browser.post("/api/keys", json=body_of(form, name="x"))
        assert without_token.json()["error"]["code"] == "csrf_failed"
        browser.headers["X-CSRF-Token"] = page.meta["csrf-token"]
        assert submit(browser, form, name="watch-folder").status_code == 201


def test_the_keys_page_lists_keys_and_creates_one_shown_once(
    client: TestClient, settings: Settings, conn: sqlite3.Connection
) -> None:
    add_persona(settings, "bob", "editor")
    old = utcnow() - timedelta(days=10)
    create_key(
        conn,
        name="old",
        role="viewer",
        expires_in_days=1,
        keyring=load_keyring(settings),
        who=TESTER,
        now=old,
    )
    page = page_of(client, "/admin/keys")
    form = page.form("/api/keys")
    assert form["attrs"]["data-then"] == "result" and form["results"] == ["key"]
    assert body_of(form, name="n") == {"name": "n", "role": "viewer"}
    made = submit(
        client, form, name="watch-folder", role="editor", user="bob", expires_in_days="30"
    )
    assert made.status_code == 201
    secret = made.json()["key"]
    assert secret.startswith("eak_") and made.json()["user"] == "bob"
    assert client.get("/api/jobs", headers=bearer(secret)).status_code == 200
    html = client.get("/admin/keys").text
    assert secret not in html and "shown only this once" in html
    rows = {
        cells(row)[0]: cells(row) for row in re.findall(r'<tr id="key-\d+">(.*?)</tr>', html, re.S)
    }
    assert list(rows) == ["watch-folder", "old", "bob-key", "alice-key"]  # newest first
    _name, prefix, owner, role, created, used, expires, state, _actions = rows["watch-folder"]
    assert secret.startswith(prefix) and (owner, role, state) == ("bob", "editor", "active")
    assert created.endswith("by key:alice-key") and " UTC" in used and expires.endswith(" UTC")
    assert (rows["old"][5], rows["old"][7], rows["alice-key"][6]) == ("–", "expired", "never")


def test_the_revoke_form_asks_first_and_the_key_stops_working(
    client: TestClient, settings: Settings
) -> None:
    key = add_persona(settings, "bob", "editor")
    html = client.get("/admin/keys").text
    key_id = found(r'<tr id="key-(\d+)">\s*<td class="wrap"><strong>bob-key<', html)
    page = Page(html)
    form = page.form(f"/api/keys/{key_id}", "DELETE")
    assert "bob-key" in form["attrs"]["data-confirm"]
    assert submit(client, form).json()["revoked_at"]
    assert client.get("/api/jobs", headers=bearer(key)).status_code == 401
    after = page_of(client, "/admin/keys")
    assert not after.has_form(f"/api/keys/{key_id}", "DELETE")


def test_the_pages_escape_a_hostile_name(client: TestClient, conn: sqlite3.Connection) -> None:
    add_user(conn, "mallory", email=f"{HOSTILE}@evil.example")
    assert client.post("/api/keys", json={"name": HOSTILE, "role": "viewer"}).status_code == 201
    for path in PAGES:
        html = client.get(path).text
        assert HOSTILE not in html and "&lt;script&gt;x&lt;/script&gt;" in html, path


@pytest.mark.parametrize("path", PAGES)
def test_every_field_has_a_label_and_ids_are_unique(
    client: TestClient, conn: sqlite3.Connection, path: str
) -> None:
    add_user(conn, "bob")
    html = client.get(path).text
    page = Page(html)
    assert page.controls and all(c.get("id") in page.labels for c in page.controls)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_lesser_roles_get_the_friendly_forbidden_page(
    client: TestClient, settings: Settings, path: str, role: str
) -> None:
    key = add_persona(settings, f"someone-{role}", role)
    response = client.get(path, headers={**HTML, **bearer(key)})
    assert response.status_code == 403 and "text/html" in response.headers["content-type"]
    assert "<code>forbidden</code>" in response.text and "<form data-api" not in response.text


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_browsers_are_sent_to_sign_in(anonymous: TestClient, path: str) -> None:
    response = anonymous.get(path, headers=HTML, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_audit_log_pages_through_filtered_entries_keeping_the_filters(
    client: TestClient, conn: sqlite3.Connection
) -> None:
    for n in range(PER_PAGE + 10):
        add_user(conn, f"user{n:03d}")
    filters = "/admin/audit?action=user.created&actor=tester"
    first = client.get(filters).text
    assert (
        entry_ids(first) == sorted(entry_ids(first), reverse=True)
        and len(entry_ids(first)) == PER_PAGE
    )
    assert "Previous page" not in first
    next_href = found(r'<a href="([^"]+)" rel="next">', first)
    assert "action=user.created" in next_href and "actor=tester" in next_href
    second = client.get(next_href).text
    assert len(entry_ids(second)) == 10 and 'rel="next"' not in second
    assert max(entry_ids(second)) < min(entry_ids(first))
    prev_href = found(r'<a href="([^"]+)" rel="prev">', second)
    assert "actor=tester" in prev_href and entry_ids(client.get(prev_href).text) == entry_ids(first)
    everything = client.get("/admin/audit").text
    assert len(entry_ids(everything)) == PER_PAGE and 'rel="next"' in everything


def test_the_audit_filter_form_narrows_by_resource_and_time(
    client: TestClient, conn: sqlite3.Connection
) -> None:
    moment = datetime(2031, 5, 1, 10, 0, tzinfo=timezone.utc)
    for n in range(3):
        add_user(conn, f"old{n}", now=moment + timedelta(minutes=n))
    form = next(
        f for f in page_of(client, "/admin/audit").forms if f["attrs"].get("method") == "get"
    )
    assert names(form) == ["action", "actor", "resource_type", "resource_id", "since", "until"]
    query = {name: "" for name in names(form)}  # a GET form sends its empty fields too
    window = client.get(
        "/admin/audit", params={**query, "since": "2031-05-01T10:00", "until": "2031-05-01T10:02"}
    )
    assert len(entry_ids(window.text)) == 2 and "old2" not in window.text
    one = client.get(
        "/admin/audit", params={**query, "resource_type": "user", "resource_id": "old1"}
    )
    assert len(entry_ids(one.text)) == 1 and 'value="old1"' in one.text
    assert "<dt>role</dt><dd>viewer</dd>" in one.text and "<dt>password</dt><dd>no</dd>" in one.text
    none = client.get("/admin/audit", params={**query, "until": "2000-01-01"})
    assert entry_ids(none.text) == [] and "No entries match" in none.text


@pytest.mark.parametrize(
    "query", ["since=yesterday", "until=2031-13-01", "action=user.exploded", "before=0", "after=x"]
)
def test_invalid_audit_filters_get_the_friendly_422_page(client: TestClient, query: str) -> None:
    response = client.get(f"/admin/audit?{query}", headers=HTML)
    assert response.status_code == 422 and "<code>invalid_request</code>" in response.text
