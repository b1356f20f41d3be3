"""How ``ops.tunnel`` judges single values of cloudflared.yml, and the ``Problem`` it reports.

The credential file it names must be a regular file that the tunnel's user (and nobody else) can
read, holding the JSON object that `cloudflared tunnel create` writes; a service must be a Unix
socket or HTTP on loopback; metrics stay on loopback; a team is named the way Access names it.
"""

from __future__ import annotations

import base64
import binascii
import grp
import ipaddress
import json
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

TUNNEL_USER = "editorial-assistant-tunnel"  # the user editorial-assistant-tunnel.service runs as
REFUSED_SERVICES = {
    "hello_world": "is cloudflared's built-in test page",
    "hello-world": "is cloudflared's built-in test page",
    "helloworld": "is cloudflared's built-in test page",
    "bastion": "is a jump host: Access users could open connections to any host the VM reaches",
    "socks-proxy": "is a SOCKS proxy into the VM's network",
}


@dataclass(frozen=True)
class Problem:
    """One finding: an ``error`` (cloudflared or our policy refuses it) or a ``warning``."""

    severity: Literal["error", "warning"]
    key: str
    message: str
    fix: str

    def line(self) -> str:
        """One line for a terminal: ``ERROR key: message Fix: …``."""
        return f"{self.severity.upper()} {self.key}: {self.message} Fix: {self.fix}"


CREDENTIAL_KEYS = ("AccountTag", "TunnelSecret", "TunnelID")


def read_credential(path: Path) -> tuple[dict[Any, Any] | None, list[Problem]]:
    """The credential's JSON object (None when absent or unreadable) and what is wrong with it."""
    key, fix = "credentials-file", "Install the <UUID>.json from `cloudflared tunnel create`."
    problems = []
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return None, [Problem("error", key, f"{path} is not a regular file.", fix)]
        modes = f"chown root:{TUNNEL_USER} {path}; chmod 640 {path}"
        if info.st_mode & stat.S_IROTH:
            why = f"{path} is readable by every user on the VM."
            problems.append(Problem("warning", key, why, modes))
        elif not _tunnel_user_can_read(info):
            why = f"{path} is not readable by {TUNNEL_USER}, the user cloudflared runs as."
            problems.append(Problem("warning", key, why, modes))
        raw = path.read_bytes()[:65536]
    except FileNotFoundError:
        why = f"{path} does not exist yet; the tunnel unit stays skipped until it does."
        return None, [Problem("warning", key, why, fix)]
    except OSError as exc:
        why = f"cannot check {path}: {exc.strerror}."
        return None, [Problem("warning", key, why, "Run the check with sudo.")]
    try:
        credential = json.loads(raw)
    except (ValueError, RecursionError):  # includes UnicodeDecodeError
        credential = None
    if not isinstance(credential, dict):
        why = f"{path} is not a JSON tunnel credential (cert.pem is not one)."
        return None, [*problems, Problem("error", key, why, fix)]
    return credential, problems


def _tunnel_user_can_read(info: os.stat_result, name: str = TUNNEL_USER) -> bool:
    """True when user ``name`` may read a file by its mode, or when there is no such user here."""
    try:
        user = pwd.getpwnam(name)
    except KeyError:
        return True
    groups = {user.pw_gid} | {g.gr_gid for g in grp.getgrall() if name in g.gr_mem}
    owner = info.st_uid == user.pw_uid and info.st_mode & stat.S_IRUSR
    return bool(owner or (info.st_gid in groups and info.st_mode & stat.S_IRGRP))


def is_base64(value: Any) -> bool:
    try:
        return isinstance(value, str) and bool(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return False


def refusal(service: str) -> str | None:
    """Why a service is refused, or None for a Unix socket or an http(s) URL on loopback."""
    for prefix in ("unix:", "unix+tls:"):
        if service.startswith(prefix):
            absolute = service.removeprefix(prefix).startswith("/")
            return None if absolute else "has a relative socket path"
    if service in REFUSED_SERVICES:
        return REFUSED_SERVICES[service]
    try:
        url = urlsplit(service)
        host, _port = url.hostname, url.port
    except ValueError:
        return "is not a valid URL"
    if url.scheme not in ("http", "https"):
        return f"uses {url.scheme or 'no'} scheme; only HTTP to the API is routed"
    if not host or not is_loopback(host):
        return f"points at {host or 'no host'}, which is not this machine's loopback"
    if url.path or url.query:
        return "has a path; cloudflared refuses paths in a service URL"
    return None


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def metrics_host(value: Any) -> str | None:
    if not isinstance(value, str) or ":" not in value:
        return None
    host, _, port = value.rpartition(":")
    return host.removeprefix("[").removesuffix("]") if port.isdigit() or not port else None


def team_name(value: str) -> str:
    """``acme`` from ``acme``, ``acme.cloudflareaccess.com`` or ``https://acme…/``."""
    name = value.strip().lower().removeprefix("https://").removeprefix("http://")
    return name.split("/")[0].removesuffix(".cloudflareaccess.com")
