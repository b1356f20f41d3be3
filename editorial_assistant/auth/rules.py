"""The one authorization check each route declares, next to the route.

``allow("editor", project=job_project)`` in a route's ``dependencies`` identifies the caller,
applies the rate limits (per client address before identifying, per caller after), demands a
CSRF token for writes made with browser credentials, and checks the role — or, with
``project``, a grant on the Media ID the route touches. ``public()`` marks the few open routes.
Every route must carry exactly one of these: ``tests/auth/test_route_rules.py`` enumerates them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from starlette.concurrency import run_in_threadpool

from editorial_assistant import deps
from editorial_assistant.audit.service import Who
from editorial_assistant.auth.grants import project_role
from editorial_assistant.auth.roles import Actor, at_least
from editorial_assistant.errors import AppError, Forbidden, Unauthenticated
from editorial_assistant.logs import set_log_user

ProjectOf = Callable[[sqlite3.Connection, Mapping[str, Any]], "str | None"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Rule:
    """Who may call a route: ``role`` None means anyone signed in; ``public`` means anyone."""

    role: str | None
    project: ProjectOf | None = None
    limit: str | None = None
    public: bool = False
    page: bool = False
    rate_limited: bool = True

    def describe(self) -> str:
        """How the rule reads in the API reference."""
        if self.public:
            return "public"
        needed = self.role or "any signed-in caller"
        return f"{needed} (or a project grant)" if self.project else needed


class LoginRequired(Exception):
    """A dashboard page asked for without a session: send the browser to /login."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def allow(
    role: str | None,
    *,
    project: ProjectOf | None = None,
    limit: str | None = None,
    page: bool = False,
) -> DependsParam:
    """The dependency for a route open to ``role`` and above (or a grant via ``project``)."""
    return _dependency(Rule(role, project, limit, page=page))


def public(*, limit: str | None = None, rate_limited: bool = True) -> DependsParam:
    """The dependency for a route anyone may call (rate limited per address unless it is a
    health probe, which must stay cheap and must not fail with the limiter)."""
    return _dependency(Rule(None, limit=limit, public=True, rate_limited=rate_limited))


def _dependency(rule: Rule) -> DependsParam:
    async def check(request: Request, conn: sqlite3.Connection = Depends(deps.conn)) -> None:
        try:
            actor = await run_in_threadpool(_check, request, conn, rule)
        except Unauthenticated:
            # Only local accounts have a sign-in page to go to; under Access the error page says
            # to come in through Access.
            if rule.page and request.app.state.access.settings.auth.mode == "local":
                query = request.url.query
                raise LoginRequired(request.url.path + (f"?{query}" if query else "")) from None
            raise
        if actor is not None:
            anonymous = _who(request)
            request.state.actor = actor
            request.state.who = Who(actor.label, anonymous.ip, anonymous.request_id)
            request.scope["state"]["user"] = actor.label
            set_log_user(actor.label)

    check.rule = rule  # type: ignore[attr-defined]  # read by the route enumeration
    return Depends(check)


def rule_of(dependency: Callable[..., Any]) -> Rule | None:
    """The rule a dependency enforces, if it is one of ours."""
    return getattr(dependency, "rule", None)


def _who(request: Request) -> Who:
    control = request.app.state.access
    return Who("anonymous", control.client_address(request.scope), request.state.request_id)


def _check(request: Request, conn: sqlite3.Connection, rule: Rule) -> Actor | None:
    control = request.app.state.access
    who = _who(request)
    group = rule.limit or ("read" if request.method in SAFE_METHODS else "write")
    by_address = f"ip:{who.ip}:{group}"
    if rule.public:
        if rule.rate_limited:
            control.limit([by_address], group)
        return None
    # An address over its limit is refused before any work; the check only reads, and the one
    # write (both counters in one transaction) comes once the caller is known.
    control.check(by_address, group)
    now = request.app.state.clock()
    try:
        actor = control.authenticator.identify(
            conn, headers=request.headers, cookies=request.cookies, who=who, now=now
        )
    except AppError:
        control.limit([by_address], group)  # failed attempts count against the address
        raise
    control.limit([by_address, f"actor:{actor.label}:{group}"], group)
    if actor.uses_browser_credentials and request.method not in SAFE_METHODS:
        _check_csrf(request, actor)
    request.state.actor = actor  # known even when refused: a refusal page still shows who
    _authorize(conn, actor=actor, rule=rule, params=request.path_params)
    return actor


def _check_csrf(request: Request, actor: Actor) -> None:
    keyring = request.app.state.access.authenticator.keyring
    offered = request.headers.get(CSRF_HEADER, "")
    if not offered or not keyring.csrf_matches(csrf_binding(actor), offered):
        raise Forbidden(
            "This change was sent without the page's CSRF token.",
            code="csrf_failed",
            hint="Send the X-CSRF-Token header with the csrf_token from GET /api/auth/me.",
        )


def csrf_binding(actor: Actor) -> str:
    """What an actor's CSRF token is bound to: the session, or the Access-signed-in person."""
    return f"session:{actor.session_id}" if actor.session_id else f"user:{actor.user_id}"


def _authorize(
    conn: sqlite3.Connection, *, actor: Actor, rule: Rule, params: Mapping[str, Any]
) -> None:
    if rule.role is None or at_least(actor.role, rule.role):
        return
    media_id = rule.project(conn, params) if rule.project and actor.user_id else None
    grant = None
    if media_id and actor.user_id is not None:
        grant = project_role(conn, user_id=actor.user_id, media_id=media_id)
    if grant and at_least(grant, rule.role):
        return
    raise Forbidden(
        f"{actor.label} is a {actor.role}; this needs {rule.role}"
        + (f" or a grant on {media_id}" if media_id else "")
        + ".",
        code="forbidden",
        hint="Ask an admin for a different role or a project grant.",
    )


def job_project(conn: sqlite3.Connection, params: Mapping[str, Any]) -> str | None:
    """The Media ID of the job in the path (``job_id``)."""
    raw = str(params.get("job_id", ""))
    if not raw.isdigit() or len(raw) > 18:
        return None
    row = conn.execute("SELECT media_id FROM jobs WHERE id = ?", (int(raw),)).fetchone()
    return row[0] if row else None


def media_project(conn: sqlite3.Connection, params: Mapping[str, Any]) -> str | None:
    """The Media ID named in the path (``media_id``)."""
    value = params.get("media_id")
    return str(value) if value else None


@dataclass(frozen=True)
class DeclaredRoute:
    """One route of an app as a reader sees it: methods, full path, and the rules it declares."""

    methods: tuple[str, ...]
    path: str
    rules: tuple[Rule, ...]
    mount: bool = False


def declared_routes(app: Any) -> list[DeclaredRoute]:
    """Every route of ``app`` (routers included) with the access rules it declares."""
    from fastapi.routing import APIRoute, iter_route_contexts
    from starlette.routing import Mount

    found = []
    for context in iter_route_contexts(app.routes):
        route = context.route
        if isinstance(route, Mount):
            found.append(DeclaredRoute((), route.path, (), mount=True))
            continue
        calls = (
            [d.call for d in route.dependant.dependencies] if isinstance(route, APIRoute) else []
        )
        rules = tuple(rule for call in calls if call and (rule := rule_of(call)))
        methods = tuple(sorted((context.methods or set()) - {"HEAD"}))
        found.append(DeclaredRoute(methods, str(context.path), rules))
    return found
