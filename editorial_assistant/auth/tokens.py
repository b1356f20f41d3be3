"""Random tokens and their keyed hashes: API keys, session cookies, sign-in links, CSRF tokens.

Only HMAC-SHA256 digests keyed with the ``auth_secret`` credential are stored, so a copy of the
database alone (a leaked backup) cannot be used to check guesses. While the secret is being
rotated, ``auth_secret_previous`` still verifies what the old one hashed. API keys look like
``eak_<8 hex>_<43 characters>``: the prefix finds the row and makes a leaked key recognisable
(secret scanners can match ``eak_``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_PATTERN = re.compile(r"(eak_[0-9a-f]{8})_[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class Keyring:
    """The current HMAC secret and, during a rotation, the previous one."""

    current: bytes
    previous: bytes | None = None

    def digest(self, token: str) -> str:
        """The stored form of ``token`` under the current secret."""
        return _digest(self.current, token)

    def digests(self, token: str) -> list[str]:
        """Every stored form ``token`` may have: current secret first."""
        keys = [self.current] + ([self.previous] if self.previous else [])
        return [_digest(key, token) for key in keys]

    def matches(self, token: str, stored: str) -> bool:
        """Whether ``stored`` is ``token``'s digest under either secret (constant time)."""
        return any(hmac.compare_digest(d, stored) for d in self.digests(token))

    def csrf_token(self, binding: str) -> str:
        """The CSRF token for a session or a signed-in person (bound to them, not stored)."""
        return _digest(self.current, f"csrf:{binding}")

    def csrf_matches(self, binding: str, offered: str) -> bool:
        """Whether ``offered`` is the CSRF token for ``binding``."""
        return any(
            hmac.compare_digest(_digest(key, f"csrf:{binding}"), offered)
            for key in [self.current] + ([self.previous] if self.previous else [])
        )


def _digest(key: bytes, token: str) -> str:
    return hmac.new(key, token.encode("utf-8"), hashlib.sha256).hexdigest()


def new_token() -> str:
    """A URL-safe random token with 256 bits of entropy (sessions, sign-in links)."""
    return secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str]:
    """A fresh API key and its public prefix."""
    prefix = f"eak_{secrets.token_hex(4)}"
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def api_key_prefix(key: str) -> str | None:
    """The prefix of a well-formed API key, or None for anything else."""
    found = KEY_PATTERN.fullmatch(key)
    return found.group(1) if found else None
