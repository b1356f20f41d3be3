"""Signing in and out: ``/login`` (form and one-time links) and ``/api/auth/*``."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from editorial_assistant import deps
from editorial_assistant.audit.events import Action
from editorial_assistant.audit.service import Who, audited
from editorial_assistant.auth.identify import SESSION_COOKIE
from editorial_assistant.auth.pages import link_page, login_page
from editorial_assistant.auth.roles import Actor
from editorial_assistant.auth.rules import allow, csrf_binding, public
from editorial_assistant.auth.schemas import LoginIn, MeOut, PasswordIn
from editorial_assistant.auth.sessions import end_session, start_session, use_login_link
from editorial_assistant.auth.users import Lockout, authenticate, get_user_or_raise, set_password
from editorial_assistant.errors import AppError, Conflict, Forbidden
from editorial_assistant.web.hygiene import request_scheme

router = APIRouter(tags=["auth"])


@router.post("/api/auth/login", response_model=MeOut, dependencies=[public(limit="login")])
def login(
    body: LoginIn,
    request: Request,
    response: Response,
    conn: sqlite3.Connection = Depends(deps.conn),
) -> dict[str, object]:
    """Sign in with a username and password (local mode); sets the session cookie."""
    actor = _sign_in(request, conn, body.username, body.password, response)
    return me_of(request, actor)


@router.post("/api/auth/logout", status_code=204, dependencies=[allow(None)])
def logout(
    request: Request, conn: sqlite3.Connection = Depends(deps.conn), who: Who = Depends(deps.who)
) -> Response:
    """End this browser session."""
    actor: Actor = request.state.actor
    now = request.app.state.clock()
    with audited(
        conn, who=who, action=Action.LOGOUT, now=now, resource_type="user", resource_id=actor.name
    ):
        if actor.session_id:
            end_session(conn, session_id=actor.session_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/api/auth/me", response_model=MeOut, dependencies=[allow(None)])
def me(request: Request) -> dict[str, object]:
    """Who you are signed in as, and the CSRF token browser writes must carry."""
    return me_of(request, request.state.actor)


@router.post("/api/auth/password", status_code=204, dependencies=[allow(None)])
def change_password(
    body: PasswordIn,
    request: Request,
    conn: sqlite3.Connection = Depends(deps.conn),
    who: Who = Depends(deps.who),
) -> Response:
    """Change your own password (signs out your other sessions)."""
    actor: Actor = request.state.actor
    if actor.kind != "user":
        raise Conflict("Only people have passwords; API keys do not.", code="not_a_person")
    if get_user_or_raise(conn, username=actor.name)["has_password"] or body.current_password:
        _sign_in(request, conn, actor.name, body.current_password or "", None)
    set_password(
        conn,
        username=actor.name,
        password=body.new_password,
        who=who,
        now=request.app.state.clock(),
        keep_session=actor.session_id,
    )
    return Response(status_code=204)


@router.get(
    "/login",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[public(limit="read")],
)
def login_form(next: Annotated[str, Query(max_length=500)] = "/") -> str:
    """The sign-in form."""
    return login_page(next_path=safe_next(next))


@router.post(
    "/login",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[public(limit="login")],
)
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
    conn: sqlite3.Connection = Depends(deps.conn),
) -> Response:
    """Sign in from the form, then go where the visitor was headed."""
    redirect = RedirectResponse(safe_next(next), status_code=303)
    try:
        refuse_cross_site(request)
        _sign_in(request, conn, username, password, redirect)
    except AppError as exc:
        page = login_page(next_path=safe_next(next), error=exc.message, username=username)
        return HTMLResponse(page, status_code=exc.status)
    return redirect


@router.get(
    "/login/link",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[public(limit="login")],
)
def login_link_page(token: Annotated[str, Query(max_length=100)] = "") -> str:
    """The page a one-time sign-in link opens."""
    return link_page(token=token, error="" if token else "This link is incomplete.")


@router.post("/login/link", include_in_schema=False, dependencies=[public(limit="login")])
def login_link_use(
    request: Request,
    token: Annotated[str, Form(max_length=100)] = "",
    conn: sqlite3.Connection = Depends(deps.conn),
) -> Response:
    """Spend a one-time sign-in link and start a session."""
    control = request.app.state.access
    now = request.app.state.clock()
    if control.settings.auth.mode != "local":
        page = link_page(token="", error="Sign-in links work only in local mode.")
        return HTMLResponse(page, status_code=409)
    try:
        refuse_cross_site(request)
        user_id = use_login_link(
            conn,
            token=token,
            keyring=control.authenticator.keyring,
            who=_anonymous(request),
            now=now,
        )
    except AppError as exc:
        return HTMLResponse(link_page(token="", error=exc.message), status_code=exc.status)
    redirect = RedirectResponse("/", status_code=303)
    _start(request, conn, user_id, redirect)
    return redirect


def _sign_in(
    request: Request,
    conn: sqlite3.Connection,
    username: str,
    password: str,
    response: Response | None,
) -> Actor:
    control = request.app.state.access
    auth = control.settings.auth
    if auth.mode != "local":
        raise Conflict(
            f"Password sign-in is off: this service runs in {auth.mode} mode.",
            code="password_sign_in_off",
            hint="Sign in through Cloudflare Access, or use an API key.",
        )
    lockout = Lockout(auth.lockout_threshold, auth.lockout_minutes)
    user = authenticate(
        conn,
        username=username,
        password=password,
        lockout=lockout,
        who=_anonymous(request),
        now=request.app.state.clock(),
    )
    session_id = _start(request, conn, user["id"], response) if response is not None else None
    return Actor(
        kind="user",
        name=user["username"],
        role=user["role"],
        via="session",
        user_id=user["id"],
        session_id=session_id,
    )


def _start(request: Request, conn: sqlite3.Connection, user_id: int, response: Response) -> int:
    control = request.app.state.access
    auth = control.settings.auth
    lifetime = timedelta(hours=auth.session_absolute_hours)
    token = start_session(
        conn,
        user_id=user_id,
        keyring=control.authenticator.keyring,
        absolute=lifetime,
        now=request.app.state.clock(),
        ip=_anonymous(request).ip,
        user_agent=request.headers.get("user-agent"),
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(auth.cookie_secure, request),
    )
    digest = control.authenticator.keyring.digest(token)
    row = conn.execute("SELECT id FROM sessions WHERE token_hash = ?", (digest,)).fetchone()
    return int(row[0])


def _secure(setting: str, request: Request) -> bool:
    if setting == "auto":
        return request_scheme(request.scope) == "https"
    return setting == "always"


def _anonymous(request: Request) -> Who:
    control = request.app.state.access
    return Who("anonymous", control.client_address(request.scope), request.state.request_id)


def me_of(request: Request, actor: Actor) -> dict[str, object]:
    """The ``/api/auth/me`` body for ``actor``."""
    keyring = request.app.state.access.authenticator.keyring
    csrf = keyring.csrf_token(csrf_binding(actor)) if actor.uses_browser_credentials else None
    return {"name": actor.label, "role": actor.role, "via": actor.via, "csrf_token": csrf}


def refuse_cross_site(request: Request) -> None:
    """Refuse a sign-in form posted from another site (login CSRF): browsers say where a form
    came from in ``Sec-Fetch-Site`` and ``Origin``."""
    origin = request.headers.get("origin")
    foreign_origin = origin not in (None, "null") and urlsplit(origin).netloc != request.url.netloc
    if request.headers.get("sec-fetch-site") == "cross-site" or foreign_origin:
        raise Forbidden(
            "This sign-in form was sent from another site.",
            code="cross_site_sign_in",
            hint="Open the sign-in page of this service itself.",
        )


def safe_next(path: str) -> str:
    """``path`` if it stays on this site, else ``/`` (no open redirects)."""
    plain = all(ch.isprintable() for ch in path)
    if plain and path.startswith("/") and not path.startswith(("//", "/\\")):
        return path
    return "/"
