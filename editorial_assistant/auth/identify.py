"""Who is calling: an API key, a Cloudflare Access token or a session cookie, per ``auth.mode``.

An ``Authorization: Bearer`` API key works in every mode. Otherwise ``access`` mode trusts only a
verified ``Cf-Access-Jwt-Assertion`` header (never the ``CF_Authorization`` cookie), ``local``
mode a session cookie, and ``keys-only`` nothing else. Refusals say what was missing or wrong.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from editorial_assistant.audit.events import Action
from editorial_assistant.audit.service import Who, record
from editorial_assistant.auth.access import AccessDenied, AccessVerifier, default_certs_url
from editorial_assistant.auth.keys import authenticate_key
from editorial_assistant.auth.roles import LEVEL, Actor
from editorial_assistant.auth.sessions import resume_session
from editorial_assistant.auth.tokens import Keyring
from editorial_assistant.auth.users import create_user, user_by_email
from editorial_assistant.config import AuthSettings
from editorial_assistant.db import transaction
from editorial_assistant.errors import Forbidden, Unauthenticated

SESSION_COOKIE = "ea_session"
ACCESS_HEADER = "cf-access-jwt-assertion"


class Authenticator:
    """Turns a request's credentials into an ``Actor`` for one deployment's settings."""

    def __init__(self, settings: AuthSettings, keyring: Keyring) -> None:
        self.settings = settings
        self.keyring = keyring
        self.verifier = _verifier(settings) if settings.mode == "access" else None

    def identify(
        self,
        conn: sqlite3.Connection,
        *,
        headers: Mapping[str, str],
        cookies: Mapping[str, str],
        who: Who,
        now: datetime,
    ) -> Actor:
        """The caller, or ``Unauthenticated``/``Forbidden`` saying why not."""
        authorization = headers.get("authorization")
        if authorization is not None:
            return self._by_key(conn, authorization=authorization, who=who, now=now)
        if self.verifier is not None:
            return self._by_access(conn, token=headers.get(ACCESS_HEADER), who=who, now=now)
        if self.settings.mode == "local" and cookies.get(SESSION_COOKIE):
            return self._by_session(conn, token=cookies[SESSION_COOKIE], now=now)
        raise Unauthenticated(
            _missing(self.settings.mode),
            code="unauthenticated",
            hint=_how_to_sign_in(self.settings.mode),
        )

    def _by_key(
        self, conn: sqlite3.Connection, *, authorization: str, who: Who, now: datetime
    ) -> Actor:
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthenticated(
                "The Authorization header must be `Bearer <API key>`.",
                code="invalid_api_key",
                hint="Send `Authorization: Bearer eak_…`.",
            )
        row = authenticate_key(conn, key=key.strip(), keyring=self.keyring, who=who, now=now)
        # A key never does more than the account it belongs to may do today.
        role = min(row["role"], row["user_role"] or "admin", key=LEVEL.__getitem__)
        return Actor(
            kind="key",
            name=row["name"],
            role=role,
            via="key",
            user_id=row["user_id"],
            key_id=row["id"],
        )

    def _by_session(self, conn: sqlite3.Connection, *, token: str, now: datetime) -> Actor:
        session = resume_session(
            conn,
            token=token,
            keyring=self.keyring,
            idle=timedelta(minutes=self.settings.session_idle_minutes),
            now=now,
        )
        if session is None:
            raise Unauthenticated(
                "Your session has ended (signed out, timed out or revoked).",
                code="session_expired",
                hint="Sign in again at /login.",
            )
        return Actor(
            kind="user",
            name=session["username"],
            role=session["role"],
            via="session",
            user_id=session["id"],
            session_id=session["session_id"],
        )

    def _by_access(
        self, conn: sqlite3.Connection, *, token: str | None, who: Who, now: datetime
    ) -> Actor:
        assert self.verifier is not None
        if not token:
            raise Unauthenticated(
                _missing("access"), code="unauthenticated", hint=_how_to_sign_in("access")
            )
        try:
            email = self.verifier.verify(token).email
        except AccessDenied as exc:
            _deny(conn, who=who, now=now, reason=exc.message)
            raise
        user = user_by_email(conn, email=email) or self._provision(conn, email=email, now=now)
        if user is None or user["disabled"]:
            _deny(conn, who=who, now=now, reason="no enabled account", email=email)
            raise Forbidden(
                f"{email} signed in through Cloudflare Access but has no account here.",
                code="no_account",
                hint="Ask an admin to add you: editorial-assistant user create NAME --email …",
            )
        return Actor(
            kind="user", name=user["username"], role=user["role"], via="access", user_id=user["id"]
        )

    def _provision(
        self, conn: sqlite3.Connection, *, email: str, now: datetime
    ) -> dict[str, Any] | None:
        if not self.settings.access_auto_provision:
            return None
        name = _username_for(conn, email)
        who = Who("system")
        user = create_user(
            conn,
            username=name,
            role=self.settings.access_default_role,
            email=email,
            who=who,
            now=now,
        )
        with transaction(conn):
            record(
                conn,
                who=who,
                action=Action.ACCESS_PROVISIONED,
                now=now,
                resource_type="user",
                resource_id=name,
                details={"email": email},
            )
        return user


def _verifier(settings: AuthSettings) -> AccessVerifier:
    team = settings.access_team_domain
    return AccessVerifier(
        team_domain=team,
        aud=settings.access_aud.strip(),
        certs_url=settings.access_certs_url or default_certs_url(team),
    )


def _username_for(conn: sqlite3.Connection, email: str) -> str:
    base = "".join(c if c.isalnum() or c in "._-" else "-" for c in email.split("@")[0].lower())
    base = base.strip("._-")[:56] or "user"
    name, n = base, 1
    while conn.execute("SELECT 1 FROM users WHERE username = ?", (name,)).fetchone():
        n += 1
        name = f"{base}-{n}"
    return name


def _deny(
    conn: sqlite3.Connection, *, who: Who, now: datetime, reason: str, email: str = ""
) -> None:
    details = {"reason": reason, **({"email": email} if email else {})}
    with transaction(conn):
        record(
            conn,
            who=Who(email or "anonymous", who.ip, who.request_id),
            action=Action.ACCESS_DENIED,
            now=now,
            details=details,
        )


def _missing(mode: str) -> str:
    return {
        "access": "This request did not come through Cloudflare Access "
        "(no Cf-Access-Jwt-Assertion header).",
        "local": "Sign in first: this needs a session or an API key.",
        "keys-only": "This needs an API key.",
    }[mode]


def _how_to_sign_in(mode: str) -> str:
    return {
        "access": "Open the site at its Cloudflare Access address; integrations send an API key.",
        "local": "Sign in at /login, or send `Authorization: Bearer eak_…`.",
        "keys-only": "Send `Authorization: Bearer eak_…` (an admin creates keys).",
    }[mode]
