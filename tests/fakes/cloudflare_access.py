"""A fake Cloudflare Access team: its signing-key endpoint on 127.0.0.1, and the tokens it mints.

``FakeCloudflareAccess`` serves ``/cdn-cgi/access/certs`` in Cloudflare's format (``keys`` as RS256
JWKs, beside ``public_cert`` and ``public_certs`` holding X.509 certificates) from a background
thread, with RSA keys generated in the test. ``rotate`` adds a key and drops the oldest, as
Cloudflare does every six weeks; ``fetches`` counts requests for the certs; ``fail_next`` and
``always`` answer 500, hang, or send a broken body instead. ``mint`` signs a token carrying the
claims Cloudflare sends; ``forge`` hand-builds the ones no honest signer would (``alg: none``,
HS256 keyed with the public key).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import secrets
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

TEAM = "newsroom"
AUD = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2"
CERTS_PATH = "/cdn-cgi/access/certs"
BEHAVIOURS = ("ok", "500", "timeout", "malformed")
DAY = 24 * 3600


@dataclass
class SigningKey:
    """One of the team's RSA key pairs, named by its ``kid``."""

    kid: str = field(default_factory=lambda: secrets.token_hex(32))
    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def jwk(self) -> dict[str, Any]:
        """The public key as it appears in the certs document's ``keys``."""
        public = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {"kid": self.kid, "kty": "RSA", "alg": "RS256", "use": "sig", **public}

    def public_pem(self) -> bytes:
        """The public key in PEM, the 'secret' of the HS256 key-confusion attack."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def cert(self, team_domain: str) -> dict[str, str]:
        """A self-signed certificate entry, as in ``public_certs``."""
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, team_domain)])
        start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
        builder = x509.CertificateBuilder(name, name, self.private.public_key())
        signed = (
            builder.serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=365))
            .sign(self.private, hashes.SHA256())
        )
        return {"kid": self.kid, "cert": signed.public_bytes(serialization.Encoding.PEM).decode()}


class FakeCloudflareAccess:
    """A team's certs endpoint on a free local port, with controllable keys and failures."""

    def __init__(self, *, team: str = TEAM, hang_seconds: float = 2.0) -> None:
        self.team_domain = f"{team}.cloudflareaccess.com"
        self.issuer = f"https://{self.team_domain}"
        self.hang_seconds = hang_seconds
        self.keys = [SigningKey()]
        self.fetches = 0
        self.certs_url = ""
        self._lock = threading.Lock()
        self._queued: deque[str] = deque()
        self._standing = "ok"
        self._stopping = threading.Event()
        self._server: _Server | None = None

    def __enter__(self) -> FakeCloudflareAccess:
        self._server = _Server(self)
        self.certs_url = f"http://127.0.0.1:{self._server.server_address[1]}{CERTS_PATH}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def rotate(self) -> SigningKey:
        """Publish a new key and drop the oldest; the new one signs from now on."""
        new = SigningKey()
        with self._lock:
            self.keys = [*self.keys[1:], new]
        return new

    def fail_next(self, *behaviours: str) -> None:
        """Answer the next certs requests with these behaviours, in order."""
        assert set(behaviours) <= set(BEHAVIOURS), behaviours
        with self._lock:
            self._queued.extend(behaviours)

    def always(self, behaviour: str) -> None:
        """Answer every certs request this way; ``"ok"`` undoes it."""
        assert behaviour in BEHAVIOURS, behaviour
        with self._lock:
            self._standing = behaviour

    def certs(self) -> dict[str, Any]:
        """The certs document, shaped like Cloudflare's."""
        with self._lock:
            keys = list(self.keys)
        certs = [key.cert(self.team_domain) for key in keys]
        return {
            "keys": [key.jwk() for key in keys],
            "public_cert": certs[-1],
            "public_certs": certs,
        }

    def claims(self, *, now: float, email: str = "alice@example.org", **overrides: Any) -> dict:
        """The claims Cloudflare puts in an application token issued at ``now``."""
        issued = int(now)
        claims = {
            "aud": [AUD],
            "email": email,
            "exp": issued + DAY,
            "iat": issued,
            "nbf": issued,
            "iss": self.issuer,
            "type": "app",
            "identity_nonce": secrets.token_urlsafe(12),
            "sub": "7335d417-61da-459d-899c-0a01c76a2f94",
            "country": "GB",
        }
        return {**claims, **overrides}

    def mint(self, claims: dict[str, Any], *, key: SigningKey | None = None) -> str:
        """An RS256 token signed by ``key`` (default: the newest published key)."""
        signer = key or self.keys[-1]
        return jwt.encode(claims, signer.private, algorithm="RS256", headers={"kid": signer.kid})

    def take_behaviour(self) -> str:
        """Count a certs request and say how to answer it."""
        with self._lock:
            self.fetches += 1
            return self._queued.popleft() if self._queued else self._standing

    def hang(self) -> None:
        """Hold a request open until the hang time passes or the server stops."""
        self._stopping.wait(self.hang_seconds)


def forge(header: dict[str, Any], claims: dict[str, Any], *, hmac_key: bytes = b"") -> str:
    """A token built by hand: HS256-signed with ``hmac_key`` if given, else with no signature."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    mac = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest() if hmac_key else b""
    return f"{signing_input}.{b64url(mac)}"


def b64url(raw: bytes) -> str:
    """Base64url without padding, as JWTs use."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture
def cloudflare_access() -> Iterator[FakeCloudflareAccess]:
    """A running fake team (use via ``pytest_plugins`` or a wrapping fixture)."""
    with FakeCloudflareAccess(hang_seconds=2.0) as fake:
        yield fake


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeCloudflareAccess) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: the timeout behaviour expects clients to hang up first."""


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def do_GET(self) -> None:
        fake = cast(_Server, self.server).fake
        if self.path.split("?", 1)[0] != CERTS_PATH:
            return self._reply(404, b'{"success": false, "errors": ["not found"]}')
        behaviour = fake.take_behaviour()
        if behaviour == "timeout":
            fake.hang()
            self.close_connection = True
        elif behaviour == "500":
            self._reply(500, b"<html><body>500 Internal Server Error</body></html>")
        elif behaviour == "malformed":
            self._reply(200, b'{"keys": [{"kid": "abc", "kty": "RS')
        else:
            self._reply(200, json.dumps(fake.certs()).encode())

    def _reply(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
