"""Cloudflare Access tokens: the ``Cf-Access-Jwt-Assertion`` header checked the way ops expects.

``AccessVerifier.verify`` accepts only RS256 tokens signed by the team's current keys (chosen by
``kid`` from ``https://<team>.cloudflareaccess.com/cdn-cgi/access/certs``), whose ``aud`` holds
this application's AUD tag, whose ``iss`` is the team URL, whose ``exp``/``nbf``/``iat`` fit the
injected clock within a small leeway, and which name an ``email``. Keys are cached; an unknown
``kid`` (Cloudflare rotates every six weeks) triggers a refetch, but every fetch, whatever its
reason, is spaced at least ``refetch_interval_seconds`` apart, so a flood of forged kids cannot
become a flood of requests to Cloudflare. When Cloudflare cannot be reached the cached keys keep
working; with none that fits, the caller gets ``AccessUnavailable`` (503), never a 500.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from editorial_assistant.errors import AppError

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
CERTS_PATH = "/cdn-cgi/access/certs"
MAX_TOKEN_LENGTH = 16_384  # Cloudflare's tokens are ~1 KB; anything huge is not one of them
_TEAM_DOMAIN = re.compile(
    r"(?:https://)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.cloudflareaccess\.com/?"
)
_SHORT_NAME = re.compile(r"[A-Za-z0-9+_-]{1,16}")
_TOKEN = "The Cloudflare Access token"
# Times are checked against the injected clock, not PyJWT's; Any as PyJWT's Options needs 2.10.
_OPTIONS: Any = {
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "require": ["exp", "nbf", "iss", "aud"],
}
_CLAIM_PROBLEMS: list[tuple[type[Exception], str]] = [
    (jwt.InvalidSignatureError, "has a signature that does not match its contents"),
    (jwt.InvalidAudienceError, "was issued for another application (aud)"),
    (jwt.InvalidIssuerError, "was issued by another Cloudflare Access team (iss)"),
    (jwt.DecodeError, "is malformed: its payload or signature cannot be decoded"),
]


class AccessDenied(AppError):
    """The request carried no Cloudflare Access token, or one we must not trust."""

    status = 401
    code = "access_denied"
    hint = "Open the site through its Cloudflare Access address and sign in again."


class AccessUnavailable(AppError):
    """The team's signing keys cannot be fetched and no cached key fits the token."""

    status = 503
    code = "access_unavailable"
    hint = "Check that this host reaches <team>.cloudflareaccess.com over HTTPS (DNS, proxy)."


@dataclass(frozen=True)
class AccessIdentity:
    """Who Cloudflare Access says is calling."""

    email: str
    subject: str
    claims: dict[str, Any]


def team_issuer(team_domain: str) -> str:
    """The team URL Cloudflare puts in ``iss``, e.g. ``https://newsroom.cloudflareaccess.com``."""
    match = _TEAM_DOMAIN.fullmatch(team_domain.strip().lower())
    if match is None:
        raise ValueError(
            f"Cloudflare Access team domain {team_domain!r} is not valid: give "
            "'<team>.cloudflareaccess.com' (optionally with https:// and a trailing slash), "
            "with no other scheme, port, path or query."
        )
    return f"https://{match.group(1)}.cloudflareaccess.com"


def default_certs_url(team_domain: str) -> str:
    """Where the team publishes its signing keys."""
    return team_issuer(team_domain) + CERTS_PATH


def denied(problem: str) -> AccessDenied:
    """An ``AccessDenied`` whose message says what was wrong with the token."""
    return AccessDenied(f"{_TOKEN} {problem}.")


class AccessVerifier:
    """Verifies Cloudflare Access tokens for one application; safe to share between threads."""

    def __init__(
        self,
        *,
        team_domain: str,
        aud: str,
        certs_url: str | None = None,
        leeway_seconds: float = 30,
        refetch_interval_seconds: float = 60,
        cache_seconds: float = 3600,
        timeout_seconds: float = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not aud.strip():
            raise ValueError("The Cloudflare Access AUD tag is empty; copy it from the app.")
        self.issuer = team_issuer(team_domain)
        self.aud = aud.strip()
        self.certs_url = certs_url or default_certs_url(team_domain)
        self._leeway, self._timeout, self._clock = leeway_seconds, timeout_seconds, clock
        self._refetch_interval, self._cache_seconds = refetch_interval_seconds, cache_seconds
        self._lock = threading.Lock()
        self._keys: dict[str, RSAPublicKey] = {}  # replaced whole, so readers need no lock
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._fetch_error = ""

    def verify(self, token: str) -> AccessIdentity:
        """The caller's identity, or ``AccessDenied`` / ``AccessUnavailable`` saying why not."""
        header = parse_header(token)
        check_algorithm(header)
        claims = self._decode(token, self._key_for(key_id(header)))
        self._check_times(claims, self._clock())
        return identity(claims)

    def _key_for(self, kid: str) -> RSAPublicKey:
        now = self._clock()
        key = self._keys.get(kid)
        if key is not None and not _elapsed(self._fetched_at, now, self._cache_seconds):
            return key
        with self._lock:
            if self._fetch_due(kid, now):
                self._refresh(now)
            key = self._keys.get(kid)
            if key is not None:
                return key
            if self._fetch_error:
                raise AccessUnavailable(
                    f"Cannot fetch the Cloudflare Access signing keys from {self.certs_url} "
                    f"({self._fetch_error}), and no cached key fits."
                )
        raise denied("is signed with an unknown key (kid)")

    def _fetch_due(self, kid: str, now: float) -> bool:
        if not _elapsed(self._attempted_at, now, self._refetch_interval):
            return False
        return kid not in self._keys or _elapsed(self._fetched_at, now, self._cache_seconds)

    def _refresh(self, now: float) -> None:
        self._attempted_at = now
        try:
            self._keys = fetch_keys(self.certs_url, timeout=self._timeout)
        except (httpx.HTTPError, ValueError) as error:
            self._fetch_error = fetch_problem(error)
            log.warning("Cloudflare Access certs not fetched: %s", self._fetch_error)
            return
        self._fetched_at, self._fetch_error = now, ""

    def _decode(self, token: str, key: RSAPublicKey) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, [ALGORITHM], _OPTIONS, audience=self.aud, issuer=self.issuer
            )
        except jwt.MissingRequiredClaimError as error:
            raise denied(f"has no {error.claim} claim") from None
        except jwt.InvalidTokenError as error:
            problem = (text for kind, text in _CLAIM_PROBLEMS if isinstance(error, kind))
            raise denied(next(problem, "is not valid")) from None
        return claims

    def _check_times(self, claims: dict[str, Any], now: float) -> None:
        if now > claim_time(claims, "exp") + self._leeway:
            raise denied("has expired")
        if now < claim_time(claims, "nbf") - self._leeway:
            raise denied("is not valid yet (nbf)")
        if "iat" in claims and now < claim_time(claims, "iat") - self._leeway:
            raise denied("was issued in the future (iat)")


def parse_header(token: object) -> dict[str, Any]:
    """The token's JOSE header, read without trusting it."""
    if not isinstance(token, str) or not token.strip():
        raise AccessDenied("No Cloudflare Access token was sent (Cf-Access-Jwt-Assertion).")
    if len(token) > MAX_TOKEN_LENGTH:
        raise denied(f"is longer than {MAX_TOKEN_LENGTH} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise denied("is malformed: a JSON Web Token has three dot-separated parts")
    try:
        padded = parts[0] + "=" * (-len(parts[0]) % 4)
        header = json.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        header = None
    if not isinstance(header, dict):
        raise denied("is malformed: its header is not base64url-encoded JSON")
    return header


def check_algorithm(header: dict[str, Any]) -> None:
    """Refuse anything but RS256 before any key is looked at."""
    alg = header.get("alg")
    if alg != ALGORITHM:
        shown = alg if isinstance(alg, str) and _SHORT_NAME.fullmatch(alg) else "an unknown one"
        raise denied(f"uses algorithm {shown}; only {ALGORITHM} is accepted")


def key_id(header: dict[str, Any]) -> str:
    """The header's ``kid``, which names the signing key."""
    kid = header.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= 256:
        raise denied("names no signing key (kid)")
    return kid


def claim_time(claims: dict[str, Any], name: str) -> float:
    """A time claim as seconds since the epoch."""
    value = claims.get(name)
    # The range test also turns away NaN, infinities and ints too big for a float.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e11:
        raise denied(f"has a {name} claim that is not a time")
    return float(value)


def identity(claims: dict[str, Any]) -> AccessIdentity:
    """The identity in verified claims; a user's email is required."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise denied("has no email claim (only user sign-ins are accepted)")
    return AccessIdentity(email.strip().lower(), str(claims.get("sub") or ""), claims)


def fetch_keys(url: str, *, timeout: float) -> dict[str, RSAPublicKey]:
    """The RS256 keys of a certs document, by ``kid``; ``public_cert(s)`` are ignored."""
    response = httpx.get(url, timeout=timeout, headers={"Accept": "application/json"})
    response.raise_for_status()
    document = response.json()
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("the certs document has no 'keys' list")
    keys = dict(filter(None, map(_rsa_key, entries)))
    if not keys:
        raise ValueError("the certs document holds no RS256 signing key")
    return keys


def fetch_problem(error: Exception) -> str:
    """Why a certs fetch failed, in a few words fit for a log line and an error message."""
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code}"
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    if isinstance(error, json.JSONDecodeError):
        return "the answer is not JSON"
    return str(error) or type(error).__name__


def _rsa_key(jwk: object) -> tuple[str, RSAPublicKey] | None:
    if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not isinstance(jwk.get("kid"), str):
        return None
    if jwk.get("alg", ALGORITHM) != ALGORITHM or jwk.get("use", "sig") != "sig":
        return None
    try:
        key = RSAAlgorithm.from_jwk(jwk)
    except (jwt.InvalidKeyError, ValueError, TypeError, KeyError):
        return None
    return (jwk["kid"], key) if isinstance(key, RSAPublicKey) else None


def _elapsed(since: float | None, now: float, seconds: float) -> bool:
    """Whether ``seconds`` have passed since ``since`` (never set, or a clock that went back)."""
    return since is None or not 0 <= now - since < seconds
