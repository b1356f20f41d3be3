"""The access-control state one API process holds: authenticator, rate limiter, trusted proxy.

Built once in ``create_app``; refuses to build (so the API refuses to start) when the settings
cannot work, e.g. access mode with no reachable configuration or an unreadable secret.
"""

from __future__ import annotations

from starlette.types import Scope

from editorial_assistant.auth.identify import Authenticator
from editorial_assistant.auth.keyring import load_keyring
from editorial_assistant.auth.ratelimit import Decision, Limit, RateLimiter
from editorial_assistant.config import Settings
from editorial_assistant.errors import RateLimited
from editorial_assistant.web.hygiene import client_address

GROUPS = ("login", "read", "write", "upload")
RATE_LIMIT_FILE = "ratelimit.db"


class AccessControl:
    """Who is calling and how often: shared by every route of one app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.authenticator = Authenticator(settings.auth, load_keyring(settings))
        limits = settings.rate_limits
        self.limiter = RateLimiter(settings.data_dir / RATE_LIMIT_FILE) if limits.enabled else None
        self.limits = {group: Limit.parse(getattr(limits, group)) for group in GROUPS}

    def limit(self, keys: list[str], group: str) -> None:
        """Count one request against each key; refuse with 429 past the group's limit."""
        if self.limiter is None:
            return
        self._refuse(self.limiter.hit_all(keys, self.limits[group]), group)

    def check(self, key: str, group: str) -> None:
        """Refuse with 429 if ``key`` is already over the group's limit (counts nothing: a read,
        which never waits for the limiter's write lock)."""
        if self.limiter is not None:
            self._refuse(self.limiter.peek(key, self.limits[group]), group)

    def _refuse(self, decision: Decision, group: str) -> None:
        if not decision.allowed:
            raise RateLimited(
                f"Too many requests ({group}: {getattr(self.settings.rate_limits, group)}).",
                retry_after=decision.retry_after,
                hint=f"Try again in {decision.retry_after} s.",
            )

    def reset(self, key: str) -> None:
        """Forget the count for ``key`` (an admin unlocking someone)."""
        if self.limiter is not None:
            self.limiter.reset(key)

    @staticmethod
    def client_address(scope: Scope) -> str:
        """The caller's address, trusting proxy headers only from loopback or the socket
        (worked out once per request)."""
        state = scope.setdefault("state", {})
        if "client_address" not in state:
            state["client_address"] = client_address(scope)
        return str(state["client_address"])
