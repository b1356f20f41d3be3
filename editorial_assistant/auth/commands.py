"""``editorial-assistant user …``, ``api-key …`` and ``project …``: manage access from a shell.

Secrets (passwords) are read from a hidden prompt or stdin, never from arguments; a new API key
is printed once. Every change is audited as ``cli:<login>``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from editorial_assistant.auth import grants, keys, users
from editorial_assistant.auth.keyring import load_keyring
from editorial_assistant.auth.sessions import create_login_link, login_link_url
from editorial_assistant.cli_support import (
    CONTEXT,
    database_of,
    operator,
    reported_errors,
    settings_of,
)
from editorial_assistant.config import Settings
from editorial_assistant.db import utcnow

ROLE = click.Choice(["viewer", "editor", "admin"])
PROJECT_ROLE = click.Choice(["viewer", "editor", "owner"])
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group(context_settings=CONTEXT)
def user() -> None:
    """Accounts: create, list, disable, change role, reset password, unlock."""


@user.command("create", context_settings=CONTEXT)
@click.argument("username")
@click.option("--role", type=ROLE, required=True, help="What the account may do.")
@click.option("--email", help="The address Cloudflare Access signs them in with.")
@click.option("--password-stdin", is_flag=True, help="Read a password from stdin.")
@click.option("--login-link", is_flag=True, help="Print a one-time sign-in link for them.")
@click.pass_context
def user_create(
    ctx: click.Context,
    username: str,
    role: str,
    email: str | None,
    password_stdin: bool,
    login_link: bool,
) -> None:
    """Add an account (no password: they sign in by link or through Access)."""
    password = _read_password() if password_stdin else None
    conn = database_of(ctx).conn()
    with reported_errors():
        made = users.create_user(
            conn,
            username=username,
            role=role,
            email=email,
            password=password,
            who=operator(),
            now=utcnow(),
        )
    click.echo(f"created {made['username']} ({made['role']})")
    if login_link:
        _print_link(ctx, made["id"])


@user.command("list", context_settings=CONTEXT)
@JSON
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """Every account with its role and state."""
    found = users.list_users(database_of(ctx).conn())
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for row in found:
        click.echo(f"{row['username']:<24} {row['role']:<7} {_state(row):<22} {row['email'] or ''}")


def _state(row: dict[str, Any]) -> str:
    if row["disabled"]:
        return "disabled"
    if row["locked_until"] and row["locked_until"] > utcnow().isoformat():
        return f"locked to {row['locked_until'][:16]}"
    return "active" if row["has_password"] or row["email"] else "active (no password)"


@user.command("set-role", context_settings=CONTEXT)
@click.argument("username")
@click.argument("role", type=ROLE)
@click.pass_context
def user_set_role(ctx: click.Context, username: str, role: str) -> None:
    """Change what an account may do."""
    _update(ctx, username, role=role)


@user.command("disable", context_settings=CONTEXT)
@click.argument("username")
@click.pass_context
def user_disable(ctx: click.Context, username: str) -> None:
    """Stop an account from signing in (ends its sessions; its API keys stop too)."""
    _update(ctx, username, disabled=True)


@user.command("enable", context_settings=CONTEXT)
@click.argument("username")
@click.pass_context
def user_enable(ctx: click.Context, username: str) -> None:
    """Let a disabled account sign in again."""
    _update(ctx, username, disabled=False)


def _update(ctx: click.Context, username: str, **changes: Any) -> None:
    with reported_errors():
        row = users.update_user(
            database_of(ctx).conn(), username=username, who=operator(), now=utcnow(), **changes
        )
    click.echo(f"{row['username']}: {row['role']}, {_state(row)}")


@user.command("reset-password", context_settings=CONTEXT)
@click.argument("username")
@click.pass_context
def user_reset_password(ctx: click.Context, username: str) -> None:
    """Set a new password (prompted, or read from stdin); unlocks and signs out the account."""
    password = _read_password()
    with reported_errors():
        users.set_password(
            database_of(ctx).conn(),
            username=username,
            password=password,
            who=operator(),
            now=utcnow(),
        )
    click.echo(f"password of {username} changed; their sessions have ended")


@user.command("unlock", context_settings=CONTEXT)
@click.argument("username")
@click.pass_context
def user_unlock(ctx: click.Context, username: str) -> None:
    """Lift a lockout after failed sign-ins."""
    with reported_errors():
        users.unlock_user(database_of(ctx).conn(), username=username, who=operator(), now=utcnow())
    click.echo(f"{username} is unlocked")


@user.command("login-link", context_settings=CONTEXT)
@click.argument("username")
@click.pass_context
def user_login_link(ctx: click.Context, username: str) -> None:
    """Print a one-time sign-in link (valid 24 hours) for an account."""
    with reported_errors():
        found = users.get_user_or_raise(database_of(ctx).conn(), username=username)
    _print_link(ctx, found["id"])


def _print_link(ctx: click.Context, user_id: int) -> None:
    settings = settings_of(ctx)
    with reported_errors():
        token = create_login_link(
            database_of(ctx).conn(),
            user_id=user_id,
            who=operator(),
            keyring=load_keyring(settings),
            now=utcnow(),
        )
    click.echo(f"one-time sign-in link (24 hours): {login_link_url(settings, token)}")


def _read_password() -> str:
    if sys.stdin.isatty():
        return str(click.prompt("New password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\n")


@click.group("api-key", context_settings=CONTEXT)
def api_key() -> None:
    """API keys for integrations: create (shown once), list, revoke."""


@api_key.command("create", context_settings=CONTEXT)
@click.option("--name", required=True, help="What uses it, e.g. watch-folder.")
@click.option("--role", type=ROLE, required=True, help="What the key may do.")
@click.option("--user", "username", help="Account the key belongs to (shares its grants).")
@click.option("--expires-in-days", type=click.IntRange(1, 3650), help="Stop working after this.")
@JSON
@click.pass_context
def api_key_create(
    ctx: click.Context,
    name: str,
    role: str,
    username: str | None,
    expires_in_days: int | None,
    as_json: bool,
) -> None:
    """Create a key and print it (this once: store it now)."""
    settings = settings_of(ctx)
    with reported_errors():
        key, row = keys.create_key(
            database_of(ctx).conn(),
            name=name,
            role=role,
            username=username,
            expires_in_days=expires_in_days,
            keyring=load_keyring(settings),
            who=operator(),
            now=utcnow(),
        )
    if as_json:
        click.echo(json.dumps({"key": key, "id": row["id"]}))
        return
    click.echo(f"API key {row['id']} ({row['name']}, {row['role']}): {key}")
    click.echo("Store it now: it is not shown again. Send it as 'Authorization: Bearer <key>'.")


@api_key.command("list", context_settings=CONTEXT)
@JSON
@click.pass_context
def api_key_list(ctx: click.Context, as_json: bool) -> None:
    """Every key (never the key itself)."""
    found = keys.list_keys(database_of(ctx).conn())
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for row in found:
        state = "revoked" if row["revoked_at"] else f"expires {row['expires_at'] or 'never'}"
        used = (row["last_used_at"] or "never")[:16]
        click.echo(
            f"{row['id']:>4} {row['prefix']} {row['name']:<24} {row['role']:<7} "
            f"{state:<27} last used {used}"
        )


@api_key.command("revoke", context_settings=CONTEXT)
@click.argument("key_id", type=click.IntRange(1, 2**62))
@click.pass_context
def api_key_revoke(ctx: click.Context, key_id: int) -> None:
    """Stop a key from working, at once."""
    with reported_errors():
        row = keys.revoke_key(database_of(ctx).conn(), key_id=key_id, who=operator(), now=utcnow())
    click.echo(f"API key {row['id']} ({row['name']}) is revoked")


@click.group(context_settings=CONTEXT)
def project() -> None:
    """Per-project grants: who may see or change one Media ID's jobs."""


@project.command("grant", context_settings=CONTEXT)
@click.argument("media_id")
@click.argument("username")
@click.argument("role", type=PROJECT_ROLE)
@click.pass_context
def project_grant(ctx: click.Context, media_id: str, username: str, role: str) -> None:
    """Give an account viewer, editor or owner rights on a Media ID."""
    with reported_errors():
        grants.grant(
            database_of(ctx).conn(),
            media_id=media_id,
            username=username,
            role=role,
            who=operator(),
            now=utcnow(),
        )
    click.echo(f"{username} is {role} of {media_id}")


@project.command("revoke", context_settings=CONTEXT)
@click.argument("media_id")
@click.argument("username")
@click.pass_context
def project_revoke(ctx: click.Context, media_id: str, username: str) -> None:
    """Take back an account's grant on a Media ID."""
    with reported_errors():
        grants.revoke(
            database_of(ctx).conn(),
            media_id=media_id,
            username=username,
            who=operator(),
            now=utcnow(),
        )
    click.echo(f"{username} no longer has a grant on {media_id}")


@project.command("access", context_settings=CONTEXT)
@click.argument("media_id")
@JSON
@click.pass_context
def project_access(ctx: click.Context, media_id: str, as_json: bool) -> None:
    """Who holds which grant on a Media ID."""
    found = grants.list_grants(database_of(ctx).conn(), media_id=media_id)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for row in found or []:
        click.echo(f"{row['username']:<24} {row['role']:<7} by {row['granted_by']}")
    if not found:
        click.echo(f"no grants on {media_id}")


def bootstrap_admin(settings: Settings, *, base: str | None, echo: Any) -> None:
    """On a first development start in local mode: create ``admin`` and print a sign-in link."""
    from editorial_assistant.db import connect

    if settings.auth.mode != "local":
        return
    conn = connect(settings.database_path)
    try:
        if users.count_users(conn) == 0:
            who = operator()
            made = users.create_user(conn, username="admin", role="admin", who=who, now=utcnow())
            token = create_login_link(
                conn, user_id=made["id"], who=who, now=utcnow(), keyring=load_keyring(settings)
            )
            echo("First start: created the account 'admin'. Sign in within 24 hours at")
            echo(f"  {login_link_url(settings, token, base=base)}")
            echo("then set a password (`editorial-assistant user reset-password admin`), or make")
            echo("a new link any time with `editorial-assistant user login-link admin`.")
    finally:
        conn.close()
