"""Managing access over HTTP: accounts and API keys (admins), project grants (owners too)."""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from editorial_assistant import deps
from editorial_assistant.audit.service import Who
from editorial_assistant.auth import grants, keys, users
from editorial_assistant.auth.grants import MEDIA_ID_PATTERN
from editorial_assistant.auth.rules import allow, media_project
from editorial_assistant.auth.schemas import (
    GrantIn,
    GrantOut,
    KeyIn,
    KeyOut,
    LinkOut,
    NewKeyOut,
    UserIn,
    UserOut,
    UserPatch,
)
from editorial_assistant.auth.sessions import LINK_LIFETIME, create_login_link, login_link_url
from editorial_assistant.errors import ErrorOut

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 422, 429)
}
router = APIRouter(prefix="/api", tags=["access"], responses=ERRORS)
Username = Annotated[str, Path(max_length=64, description="The account's username.")]
MediaId = Annotated[str, Path(max_length=64, pattern=MEDIA_ID_PATTERN)]
KeyId = Annotated[int, Path(ge=1, le=2**62)]
ADMIN = [allow("admin")]


@router.get("/users", response_model=list[UserOut], dependencies=ADMIN)
def list_users(conn: sqlite3.Connection = Depends(deps.conn)) -> list[dict[str, Any]]:
    """Every account."""
    return users.list_users(conn)


@router.post("/users", response_model=UserOut, status_code=201, dependencies=ADMIN)
def create_user(
    body: UserIn,
    request: Request,
    conn: sqlite3.Connection = Depends(deps.conn),
    who: Who = Depends(deps.who),
) -> dict[str, Any]:
    """Add an account (with a password, or none: it then signs in by link or Access)."""
    return users.create_user(
        conn,
        username=body.username,
        role=body.role,
        email=body.email,
        password=body.password,
        who=who,
        now=request.app.state.clock(),
    )


@router.patch("/users/{username}", response_model=UserOut, dependencies=ADMIN)
def update_user(
    username: Username,
    body: UserPatch,
    request: Request,
    conn: sqlite3.Connection = Depends(deps.conn),
    who: Who = Depends(deps.who),
) -> dict[str, Any]:
    """Change an account's role, e-mail address, or disable it (ends its sessions)."""
    return users.update_user(
        conn,
        username=username,
        role=body.role,
        disabled=body.disabled,
        email=body.email,
        who=who,
        now=request.app.state.clock(),
    )


@router.post("/users/{username}/unlock", response_model=UserOut, dependencies=ADMIN)
def unlock_user(
    username: Username,
    request: Request,
    conn: sqlite3.Connection = Depends(deps.conn),
    who: Who = Depends(deps.who),
) -> dict[str, Any]:
    """Lift a lockout after failed sign-ins."""
    users.unlock_user(conn, username=username, who=who, now=request.app.state.clock())
    return users.get_user_or_raise(conn, username=username)


@router.post("/users/{username}/login-link", response_model=LinkOut, dependencies=ADMIN)
def login_link(
    username: Username,
    request: Request,
    conn: sqlite3.Connection = Depends(deps.conn),
    who: Who = Depends(deps.who),
) -> dict[str, Any]:
    """A one-time sign-in link for an account (hand it over privately)."""
    user = users.get_user_or_raise(conn, username=username)
    token = create_login_link(
        conn,
        user_id=user["id"],
        who=who,
        now=request.app.state.clock(),
        keyring=request.app.state.access.authenticator.keyring,
    )
    settings = request.app.state.settings
    # The configured address wins: the Host header is the caller's to choose.
    base = None if settings.api.public_url else str(request.base_url)
    hours = int(LINK_LIFETIME.total_seconds() // 3600)
    return {"url": login_link_url(settings, token, base=base), "expires_in_hours": hours}


@router.get("/keys", response_model=list[KeyOut], dependencies=ADMIN)
def list_keys(conn: sqlite3.Connection = Depends(deps.conn)) -> list[dict[str, Any]]:
    """Every API key (never the key itself)."""
    return keys.list_keys(conn)


@router.post("/keys", response_model=NewKeyOut, status_code=201, dependencies=ADMIN)
def create_key(
    body: KeyIn,
    request: Request,
    conn: sqlite3.Connection = Depends(deps.conn),
    who: Who = Depends(deps.who),
) -> dict[str, Any]:
    """A new API key, shown in this response only."""
    key, row = keys.create_key(
        conn,
        name=body.name,
        role=body.role,
        username=body.user,
        expires_in_days=body.expires_in_days,
        who=who,
        keyring=request.app.state.access.authenticator.keyring,
        now=request.app.state.clock(),
    )
    return {**row, "key": key}


@router.delete("/keys/{key_id}", response_model=KeyOut, dependencies=ADMIN)
def revoke_key(
    key_id: KeyId,
    request: Request,
    conn: sqlite3.Connection = Depends(deps.conn),
    who: Who = Depends(deps.who),
) -> dict[str, Any]:
    """Revoke an API key; it stops working at once."""
    return keys.revoke_key(conn, key_id=key_id, who=who, now=request.app.state.clock())


OWNER = [allow("owner", project=media_project)]


@router.get("/projects/{media_id}/access", response_model=list[GrantOut], dependencies=OWNER)
def list_grants(
    media_id: MediaId, conn: sqlite3.Connection = Depends(deps.conn)
) -> list[dict[str, Any]]:
    """Who holds which grant on a Media ID."""
    return grants.list_grants(conn, media_id=media_id)


@router.put("/projects/{media_id}/access/{username}", status_code=204, dependencies=OWNER)
def grant(
    media_id: MediaId,
    username: Username,
    body: GrantIn,
    request: Request,
    conn: sqlite3.Connection = Depends(deps.conn),
    who: Who = Depends(deps.who),
) -> Response:
    """Give an account viewer, editor or owner rights on a Media ID."""
    grants.grant(
        conn,
        media_id=media_id,
        username=username,
        role=body.role,
        who=who,
        now=request.app.state.clock(),
    )
    return Response(status_code=204)


@router.delete("/projects/{media_id}/access/{username}", status_code=204, dependencies=OWNER)
def revoke(
    media_id: MediaId,
    username: Username,
    request: Request,
    conn: sqlite3.Connection = Depends(deps.conn),
    who: Who = Depends(deps.who),
) -> Response:
    """Take back an account's grant on a Media ID."""
    grants.revoke(
        conn, media_id=media_id, username=username, who=who, now=request.app.state.clock()
    )
    return Response(status_code=204)
