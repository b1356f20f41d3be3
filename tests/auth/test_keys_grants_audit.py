"""API keys, project grants and the audit log, from the API and the command line."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient

from editorial_assistant.cli import cli
from editorial_assistant.config import Settings
from editorial_assistant.db import utcnow
from tests.auth.helpers import audit_count, last_audit
from tests.conftest import SRT, add_persona, bearer, upload
from tests.system.processes import environment


def cli_run(tmp_path: Path, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    env = environment(tmp_path, SUDO_USER="ivan")
    return CliRunner().invoke(cli, list(args), env=env, obj={}, input=stdin, catch_exceptions=False)


def test_a_key_from_the_cli_is_shown_once_stored_as_a_digest_and_works(tmp_path: Path) -> None:
    from editorial_assistant.app import create_app
    from editorial_assistant.config import load_settings

    assert cli_run(tmp_path, "migrate").exit_code == 0
    made = cli_run(
        tmp_path, "api-key", "create", "--name", "watch-folder", "--role", "editor", "--json"
    )
    created = json.loads(made.stdout)
    assert set(created) == {"key", "id"} and created["key"].startswith("eak_")
    listing = cli_run(tmp_path, "api-key", "list", "--json").stdout
    assert created["key"] not in listing and "watch-folder" in listing
    database = tmp_path / "data" / "editorial-assistant.db"
    dump = "\n".join(sqlite3.connect(database).iterdump())
    assert created["key"] not in dump and created["key"].split("_", 2)[2] not in dump
    settings = load_settings(environment(tmp_path))
    with TestClient(create_app(settings), headers=bearer(created["key"])) as client:
        assert upload(client, "2WLI1209HD.srt", SRT).status_code == 201
        assert client.get("/api/users").status_code == 403  # an editor key
    assert audit_count(settings, "key.first_used") == 1
    assert cli_run(tmp_path, "api-key", "revoke", str(created["id"])).exit_code == 0
    with TestClient(create_app(settings), headers=bearer(created["key"])) as client:
        revoked = client.get("/api/jobs")
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]
    assert [e["actor"] for e in _audit_tail(tmp_path, "key.created")] == ["cli:ivan"]


def _audit_tail(tmp_path: Path, action: str) -> list[dict[str, object]]:
    out = cli_run(tmp_path, "audit", "tail", "--json", "--action", action).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_an_expired_key_and_a_disabled_owners_key_stop_working(
    client: TestClient, settings: Settings
) -> None:
    made = client.post("/api/keys", json={"name": "short", "role": "viewer", "expires_in_days": 1})
    assert made.status_code == 201 and made.json()["key"].startswith("eak_")
    with sqlite3.connect(settings.database_path) as conn:
        past = (utcnow() - timedelta(days=1)).isoformat()
        conn.execute("UPDATE api_keys SET expires_at = ? WHERE id = ?", (past, made.json()["id"]))
    expired = client.get("/api/jobs", headers=bearer(made.json()["key"]))
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]
    bob = add_persona(settings, "bob", "editor")
    assert client.patch("/api/users/bob", json={"role": "viewer"}).status_code == 200
    files = {"file": ("2WLI1209HD.srt", SRT)}
    demoted = client.post("/api/transcripts", files=files, headers=bearer(bob))
    assert demoted.status_code == 403
    assert client.patch("/api/users/bob", json={"disabled": True}).status_code == 200
    assert client.get("/api/jobs", headers=bearer(bob)).status_code == 401


def test_a_project_grant_lets_a_viewer_act_on_that_media_id_only(
    client: TestClient, settings: Settings
) -> None:
    carol = bearer(add_persona(settings, "carol", "viewer"))
    upload(client, "2WLI1209HD.srt", SRT)
    upload(client, "9UNP1972HD.srt", SRT)
    assert client.post("/api/jobs/1/pause", headers=carol).status_code == 403
    granted = client.put("/api/projects/2WLI1209HD/access/carol", json={"role": "editor"})
    assert granted.status_code == 204
    assert client.post("/api/jobs/1/pause", headers=carol).status_code == 200
    assert client.post("/api/jobs/2/pause", headers=carol).status_code == 403
    assert client.get("/api/projects/2WLI1209HD/access", headers=carol).status_code == 403
    entry = last_audit(settings)
    assert entry["action"] == "job.paused" and entry["actor"] == "key:carol-key"


def test_the_submitter_owns_a_new_media_id_and_can_share_it(
    client: TestClient, settings: Settings
) -> None:
    bob = bearer(add_persona(settings, "bob", "editor"))
    add_persona(settings, "carol", "viewer")
    assert (
        upload(
            client,
            "2WLI1209HD.srt",
            SRT,
        ).status_code
        == 201
    )  # alice's first: she owns it
    client.post("/api/transcripts", headers=bob, files={"file": ("9UNP1972HD.srt", SRT)})
    owners = client.get("/api/projects/9UNP1972HD/access").json()
    assert [(g["username"], g["role"]) for g in owners] == [("bob", "owner")]
    shared = client.put(
        "/api/projects/9UNP1972HD/access/carol", json={"role": "viewer"}, headers=bob
    )
    assert shared.status_code == 204
    not_his = client.put(
        "/api/projects/2WLI1209HD/access/carol", json={"role": "viewer"}, headers=bob
    )
    assert not_his.status_code == 403


def test_the_audit_log_filters_pages_and_cannot_be_changed(
    client: TestClient, settings: Settings
) -> None:
    for n in range(5):
        client.post("/api/users", json={"username": f"user{n}", "role": "viewer"})
    page = client.get("/api/audit", params={"action": "user.created", "limit": 3}).json()
    assert [e["resource_id"] for e in page["entries"]] == ["user4", "user3", "user2"]
    rest = client.get(
        "/api/audit", params={"action": "user.created", "before": page["next_before"]}
    )
    assert [e["resource_id"] for e in rest.json()["entries"]][:2] == ["user1", "user0"]
    assert page["entries"][0]["actor"] == "key:alice-key" and page["entries"][0]["request_id"]
    assert client.get("/api/audit", params={"action": "nonsense"}).status_code == 422
    with sqlite3.connect(settings.database_path) as conn:
        for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
            try:
                conn.execute(statement)
            except sqlite3.IntegrityError as exc:
                assert "append-only" in str(exc)
            else:
                raise AssertionError(f"{statement} was allowed")


def test_the_last_admin_cannot_be_demoted_or_disabled(client: TestClient) -> None:
    for change in ({"role": "editor"}, {"disabled": True}):
        refused = client.patch("/api/users/alice", json=change)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "last_admin"


def test_user_commands_manage_accounts_and_read_passwords_from_stdin(tmp_path: Path) -> None:
    assert cli_run(tmp_path, "migrate").exit_code == 0
    made = cli_run(
        tmp_path,
        "user",
        "create",
        "bob",
        "--role",
        "editor",
        "--password-stdin",
        stdin="a long enough passphrase\n",
    )
    assert made.exit_code == 0, made.output
    assert cli_run(tmp_path, "user", "set-role", "bob", "viewer").exit_code == 0
    assert cli_run(tmp_path, "user", "disable", "bob").exit_code == 0
    listed = json.loads(cli_run(tmp_path, "user", "list", "--json").stdout)
    assert [(u["username"], u["role"], u["disabled"]) for u in listed] == [("bob", "viewer", True)]
    short = cli_run(tmp_path, "user", "reset-password", "bob", stdin="short\n")
    assert short.exit_code == 1 and "12 to 256 characters" in short.output
    link = cli_run(tmp_path, "user", "login-link", "bob")
    assert "/login/link?token=" in link.output
    missing = cli_run(tmp_path, "user", "unlock", "nobody-here")
    assert missing.exit_code == 1 and "no account named" in missing.output


def test_audit_tail_never_prints_control_characters_someone_typed(tmp_path: Path) -> None:
    from editorial_assistant.app import create_app
    from editorial_assistant.config import load_settings

    assert cli_run(tmp_path, "migrate").exit_code == 0
    settings = load_settings(environment(tmp_path))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        typed = {"username": "x\x1b]0;pwned\x07", "password": "whatever it is"}
        assert client.post("/api/auth/login", json=typed).status_code == 401
    shown = cli_run(tmp_path, "audit", "tail").stdout
    assert "auth.login_failed" in shown and "\x1b" not in shown and "\\x1b" in shown
