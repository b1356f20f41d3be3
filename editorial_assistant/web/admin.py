"""The admin pages: ``/admin/users`` (accounts), ``/admin/keys`` (API keys), ``/admin/audit``.

The pages only read. Every change they offer is a ``data-api`` form that ``static/app.js`` sends
to the JSON API in ``auth/admin_router.py``, which checks the role, the CSRF token and the rules
(such as keeping one active admin), writes the audit entry and answers errors the form shows.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from editorial_assistant import deps
from editorial_assistant.audit.events import Action
from editorial_assistant.audit.service import list_entries
from editorial_assistant.auth.keys import list_keys
from editorial_assistant.auth.passwords import MIN_LENGTH
from editorial_assistant.auth.roles import ROLES
from editorial_assistant.auth.rules import allow
from editorial_assistant.auth.sessions import LINK_LIFETIME
from editorial_assistant.auth.users import list_users
from editorial_assistant.db import timestamp
from editorial_assistant.patterns import OPTIONAL_UTC_DATE, PLAIN_TEXT
from editorial_assistant.web.render import page

router = APIRouter(include_in_schema=False)
ADMIN = [allow("admin", page=True)]
PER_PAGE = 50
ACTIONS = tuple(action.value for action in Action)
Text = Annotated[str, Query(max_length=200, pattern=PLAIN_TEXT)]
ActionName = Annotated[str, Query(pattern=f"^(|{'|'.join(map(re.escape, ACTIONS))})$")]
Moment = Annotated[
    str,
    Query(
        max_length=32,
        pattern=OPTIONAL_UTC_DATE,
        description="A UTC date or date and time, e.g. 2026-11-25 or 2026-11-25T14:03.",
    ),
]
Cursor = Annotated[int | None, Query(ge=1, le=2**62)]


@router.get("/admin/users", response_class=HTMLResponse, dependencies=ADMIN)
def users_page(request: Request, conn: sqlite3.Connection = Depends(deps.conn)) -> HTMLResponse:
    """Every local account, with the forms that add and manage them."""
    return page(
        request,
        "admin_users.html",
        users=list_users(conn),
        roles=ROLES,
        me=request.state.actor.user_id,
        now=timestamp(request.app.state.clock()),
        link_hours=int(LINK_LIFETIME.total_seconds() // 3600),
        password_min=MIN_LENGTH,
    )


@router.get("/admin/keys", response_class=HTMLResponse, dependencies=ADMIN)
def keys_page(request: Request, conn: sqlite3.Connection = Depends(deps.conn)) -> HTMLResponse:
    """Every API key (never the key itself), with the forms that create and revoke them."""
    owners = [user["username"] for user in list_users(conn) if not user["disabled"]]
    return page(
        request,
        "admin_keys.html",
        keys=list_keys(conn),
        owners=owners,
        roles=ROLES,
        now=timestamp(request.app.state.clock()),
    )


@router.get("/admin/audit", response_class=HTMLResponse, dependencies=ADMIN)
def audit_page(
    request: Request,
    conn: sqlite3.Connection = Depends(deps.conn),
    action: ActionName = "",
    actor: Text = "",
    resource_type: Text = "",
    resource_id: Text = "",
    since: Moment = "",
    until: Moment = "",
    before: Cursor = None,
    after: Cursor = None,
) -> HTMLResponse:
    """The audit log, newest first, filtered, a page at a time."""
    given = dict(
        action=action,
        actor=actor.strip(),
        resource_type=resource_type.strip(),
        resource_id=resource_id.strip(),
        since=since,
        until=until,
    )
    filters = {name: value or None for name, value in given.items()}
    entries = audit_window(conn, filters=filters, before=before, after=after)
    query = urlencode({name: value for name, value in given.items() if value})
    first, last = (entries[0]["id"], entries[-1]["id"]) if entries else (None, None)
    return page(
        request,
        "admin_audit.html",
        entries=entries,
        given=given,
        filtered=bool(query),
        actions=ACTIONS,
        newer=page_link(conn, query, filters, first, "after"),
        older=page_link(conn, query, filters, last, "before"),
        pairs=detail_pairs,
    )


def audit_window(
    conn: sqlite3.Connection, *, filters: dict[str, Any], before: int | None, after: int | None
) -> list[dict[str, Any]]:
    """One page of entries, newest first: the page older than ``before`` or newer than
    ``after`` (the newest page when fewer than a page are newer)."""
    if after is not None:
        newer = list_entries(conn, limit=PER_PAGE, oldest_first=True, after_id=after, **filters)
        if len(newer) == PER_PAGE:
            return newer[::-1]
        before = None
    return list_entries(conn, limit=PER_PAGE, before_id=before, **filters)


def page_link(
    conn: sqlite3.Connection, query: str, filters: dict[str, Any], edge: int | None, way: str
) -> str | None:
    """The link to the page beyond ``edge`` (``before`` it or ``after`` it), if it has entries."""
    beyond: dict[str, Any] = {**filters, f"{way}_id": edge}
    if not edge or not list_entries(conn, limit=1, **beyond):
        return None
    return f"/admin/audit?{query}{'&' if query else ''}{way}={edge}"


def detail_pairs(details: dict[str, Any]) -> list[tuple[str, str]]:
    """An entry's details as (key, value) text, nested values as compact JSON."""
    return [(str(key), _text(value)) for key, value in details.items()]


def _text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
    return str(value)
