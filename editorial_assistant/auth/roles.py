"""Roles, project grants and the actor a request or command resolves to.

Global roles rank viewer < editor < admin; a per-project grant (viewer < editor < owner) can raise
what a person may do with one Media ID's jobs, never lower it. An ``Actor`` is who is calling: a
person (signed in through Cloudflare Access or a local session), an API key, or an operator at
the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["viewer", "editor", "admin"]
ProjectRole = Literal["viewer", "editor", "owner"]
ROLES: tuple[Role, ...] = ("viewer", "editor", "admin")
PROJECT_ROLES: tuple[ProjectRole, ...] = ("viewer", "editor", "owner")
# What each role or grant allows, on one scale: 1 read, 2 change jobs, 3 manage.
LEVEL = {"viewer": 1, "editor": 2, "owner": 3, "admin": 3}


@dataclass(frozen=True)
class Actor:
    """Who is calling, how they proved it, and their global role."""

    kind: Literal["user", "key", "cli"]
    name: str
    role: Role
    via: Literal["access", "session", "key", "cli"]
    user_id: int | None = None
    key_id: int | None = None
    session_id: int | None = None

    @property
    def label(self) -> str:
        """How the actor appears in the audit log and the journal's ``USER`` field."""
        return self.name if self.kind == "user" else f"{self.kind}:{self.name}"

    @property
    def uses_browser_credentials(self) -> bool:
        """Credentials a browser attaches by itself, so writes need a CSRF token."""
        return self.via in ("access", "session")


def at_least(role: str, needed: str) -> bool:
    """Whether ``role`` (global or project) reaches ``needed``."""
    return LEVEL[role] >= LEVEL[needed]
