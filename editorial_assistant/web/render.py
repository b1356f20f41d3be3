"""Rendering the dashboard's pages: one Jinja2 environment, and what every page knows.

Templates live in ``web/templates`` and autoescape everything; the only HTML that enters a page
unescaped is a draft rendered by ``web.markdown`` (sanitised there). Every page gets ``viewer``:
who is signed in, whether they may change jobs or administer, and the CSRF token the page's
JavaScript sends with each change (``X-CSRF-Token``; the API refuses browser writes without it).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from editorial_assistant import __version__
from editorial_assistant.auth.grants import project_role
from editorial_assistant.auth.roles import Actor, at_least
from editorial_assistant.auth.rules import csrf_binding

NAV = (
    ("/", "Queue", "viewer"),
    ("/projects", "Projects", "viewer"),
    ("/costs", "Costs", "viewer"),
    ("/system", "System", "admin"),
    ("/admin/users", "Users", "admin"),
    ("/admin/keys", "API keys", "admin"),
    ("/admin/audit", "Audit log", "admin"),
)


@dataclass(frozen=True)
class Viewer:
    """The signed-in person as a page sees them."""

    name: str
    role: str
    via: str
    csrf_token: str | None

    @property
    def can_edit(self) -> bool:
        """Whether their global role may change jobs and upload."""
        return at_least(self.role, "editor")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_sign_out(self) -> bool:
        """Local sessions end here; under Cloudflare Access, Access signs people out."""
        return self.via == "session"


def viewer_of(request: Request) -> Viewer | None:
    """Who is looking at the page (None on public pages such as sign-in)."""
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None:
        return None
    keyring = request.app.state.access.authenticator.keyring
    token = keyring.csrf_token(csrf_binding(actor)) if actor.uses_browser_credentials else None
    return Viewer(actor.label, actor.role, actor.via, token)


def may_edit_project(request: Request, conn: sqlite3.Connection, media_id: str) -> bool:
    """Whether the caller may change this Media ID's jobs (global role or a project grant)."""
    actor: Actor = request.state.actor
    if at_least(actor.role, "editor"):
        return True
    if actor.user_id is None:
        return False
    grant = project_role(conn, user_id=actor.user_id, media_id=media_id)
    return grant is not None and at_least(grant, "editor")


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The shared template environment (autoescaping, strict about missing names)."""
    env = Environment(
        loader=PackageLoader("editorial_assistant.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, duration=duration, usd=usd, count=count)
    env.globals.update(version=__version__)
    return env


def page(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A full page rendered from ``template`` for the caller."""
    viewer = viewer_of(request)
    nav = [
        (href, label)
        for href, label, role in NAV
        if viewer is not None and at_least(viewer.role, role)
    ]
    html = (
        environment()
        .get_template(template)
        .render(viewer=viewer, nav=nav, path=request.url.path, **context)
    )
    return HTMLResponse(html, status_code=status_code)


def when(value: str | None) -> str:
    """A stored timestamp (``db.timestamp``: ISO 8601, UTC) as people read it: ``2026-11-25
    14:03 UTC``."""
    if not value:
        return "–"
    return datetime.fromisoformat(value).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float | None) -> str:
    """Seconds as ``1 h 02 min``, ``4 min 05 s`` or ``12 s``."""
    if seconds is None:
        return "–"
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def usd(value: float | None, places: int = 2) -> str:
    """Dollars with a fixed number of places (``$0.0123`` with ``places=4``)."""
    return "–" if value is None else f"${value:,.{places}f}"


def count(value: int | None) -> str:
    """A whole number with thousands separators."""
    return "–" if value is None else f"{value:,}"


def seconds_between(start: str | None, end: str | None) -> float | None:
    """Seconds from ``start`` to ``end`` (stored timestamps), or None when either is missing."""
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
