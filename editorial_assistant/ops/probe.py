"""Asking our own API a question over its socket: the watchdog's probe and ``wait-ready``.

The API listens on a Unix socket in production and on loopback TCP in development; ``Endpoint``
hides the difference. Plain ``http.client`` is used (no connection pool, no threads, nothing
that could hold a lock across gunicorn's fork), with a hard timeout on every step.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from editorial_assistant.config import Settings


@dataclass(frozen=True)
class Endpoint:
    """Where the API listens: a Unix socket, or a host and port."""

    host: str = "127.0.0.1"
    port: int = 8000
    socket: Path | None = None

    @classmethod
    def of(
        cls,
        settings: Settings,
        *,
        host: str | None = None,
        port: int | None = None,
        uds: Path | None = None,
    ) -> Endpoint:
        """The listener chosen by command-line overrides, else by ``[api]`` settings."""
        if uds or (settings.api.socket and not (host or port)):
            return cls(socket=uds or settings.api.socket)
        return cls(host=host or settings.api.host, port=port or settings.api.port)

    @property
    def bind(self) -> str:
        """gunicorn's ``bind`` value."""
        return f"unix:{self.socket}" if self.socket else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"unix:{self.socket}" if self.socket else f"http://{self.host}:{self.port}"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


def get(endpoint: Endpoint, path: str, *, timeout: float) -> tuple[int, bytes]:
    """``GET path``: the status and body; raises ``OSError`` when nothing answers in time."""
    connection: http.client.HTTPConnection
    if endpoint.socket:
        connection = _UnixConnection(endpoint.socket, timeout)
    else:
        connection = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"User-Agent": "editorial-assistant-probe"})
        response = connection.getresponse()
        return response.status, response.read(65536)
    except http.client.HTTPException as exc:
        raise OSError(f"bad HTTP answer: {exc!r}") from exc
    finally:
        connection.close()


def check(endpoint: Endpoint, path: str, *, timeout: float) -> str | None:
    """None when ``path`` answers 200, else why not (for a watchdog STATUS or an error)."""
    try:
        status, body = get(endpoint, path, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        return f"{endpoint}{path} did not answer: {exc or type(exc).__name__}"
    if status == 200:
        return None
    return f"{endpoint}{path} answered {status}: {_reason(body)}"


def _reason(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    if isinstance(data, dict):
        return str(data.get("message") or data.get("detail") or data)[:300]
    return str(data)[:300]


def wait_ready(endpoint: Endpoint, *, timeout: float, path: str = "/readyz") -> str | None:
    """Poll ``path`` until it answers 200 (None) or ``timeout`` passes (the last reason)."""
    deadline = time.monotonic() + timeout
    while True:
        problem = check(endpoint, path, timeout=min(5.0, max(timeout, 0.1)))
        if problem is None or time.monotonic() >= deadline:
            return problem
        time.sleep(0.1)
