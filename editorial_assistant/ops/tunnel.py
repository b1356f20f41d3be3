"""Checking our cloudflared configuration without the cloudflared binary.

``check_tunnel_config`` reads ``/etc/editorial-assistant/cloudflared.yml`` and returns every
problem it finds, each naming the key (``ingress[0].originRequest.access.audTag``), what is wrong
and how to fix it. The rules are cloudflared's own (``ingress/ingress.go``: every rule has a
service, only the last rule matches everything, hostnames carry no port, service URLs no path)
plus ours: every service is a Unix socket or loopback, every rule that reaches a service makes
cloudflared check the Cloudflare Access token itself, metrics stay on loopback. No file content
makes this raise.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from editorial_assistant.errors import ConfigError
from editorial_assistant.ops.tunnel_values import (
    CREDENTIAL_KEYS,
    Problem,
    is_base64,
    is_loopback,
    metrics_host,
    read_credential,
    refusal,
    team_name,
)

DEFAULT_CONFIG = Path("/etc/editorial-assistant/cloudflared.yml")
MAX_BYTES = 1_000_000  # a real config is a few KB
FILE_KEY = "(file)"
CATCH_ALL = "http_status:404"
API_SOCKET = "unix:/run/editorial-assistant/api.sock"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
AUD_TAG = re.compile(r"[0-9a-f]{64}", re.IGNORECASE)
TEAM_NAME = re.compile(r"[a-z0-9-]+", re.IGNORECASE)
PLACEHOLDER = re.compile(r"<[^<>]*>")
ALLOWED_SERVICES = "unix:/path.sock, http(s)://127.0.0.1|localhost|[::1]:port, http_status:NNN"
# Packed: one key per line would make these two sets 50 lines.
# fmt: off
KNOWN_KEYS = frozenset({
    "tunnel", "credentials-file", "ingress", "originRequest", "warp-routing", "metrics",
    "no-autoupdate", "autoupdate-freq", "loglevel", "transport-loglevel", "logfile",
    "log-directory", "pidfile", "protocol", "edge-ip-version", "edge-bind-address", "region",
    "retries", "grace-period", "ha-connections", "tag", "post-quantum",
    "management-diagnostics", "max-active-flows", "dns-resolver-addrs", "icmpv4-src",
    "icmpv6-src", "metrics-update-freq", "origincert",
})
ORIGIN_KEYS = frozenset({
    "connectTimeout", "tlsTimeout", "tcpKeepAlive", "noHappyEyeballs", "keepAliveConnections",
    "keepAliveTimeout", "httpHostHeader", "originServerName", "matchSNItoHost", "caPool",
    "noTLSVerify", "disableChunkedEncoding", "bastionMode", "proxyAddress", "proxyPort",
    "proxyType", "ipRules", "http2Origin", "access",
})
# fmt: on
RULE_KEYS = frozenset({"hostname", "path", "service", "originRequest"})
ACCESS_KEYS = frozenset({"required", "teamName", "audTag"})
REFUSED_KEYS = {
    "url": "is a single-origin setting that cloudflared refuses next to ingress rules",
    "unix-socket": "is a single-origin setting that cloudflared refuses next to ingress rules",
    "hello-world": "serves cloudflared's test page instead of the ingress rules",
    "bastion": "turns the tunnel into a jump host to anything the VM can reach",
    "socks5": "turns the tunnel into a SOCKS proxy into the VM's network",
    "token": "puts the tunnel secret in this file; it belongs in credentials-file",
    "credentials-contents": "puts the tunnel secret in this file; it belongs in credentials-file",
    "warp-routing": "lets WARP clients reach the VM's network when enabled",
}


class TunnelConfigUnreadable(ConfigError):
    """The configuration file cannot be read at all (missing, permissions, not a file)."""

    hint = "Check the path; run with sudo if the file is readable by root only."


def check_tunnel_config(
    path: Path, *, team: str | None = None, aud: str | None = None
) -> list[Problem]:
    """Every problem in the cloudflared configuration at ``path`` (empty when it is fine)."""
    try:
        data = read_tunnel_config(path)
    except TunnelConfigUnreadable as exc:
        return [Problem("error", FILE_KEY, exc.message, exc.hint)]
    return check_tunnel_text(data, team=team, aud=aud)


def read_tunnel_config(path: Path) -> bytes:
    """The file's bytes (at most ``MAX_BYTES + 1``); ``TunnelConfigUnreadable`` if it cannot be."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise TunnelConfigUnreadable(f"{path} is not a regular file.")
        with path.open("rb") as handle:
            return handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise TunnelConfigUnreadable(f"Cannot read {path}: {exc.strerror or exc}.") from exc


def check_tunnel_text(
    data: bytes, *, team: str | None = None, aud: str | None = None
) -> list[Problem]:
    """Every problem in a configuration given as bytes."""
    document = _parse(data)
    if isinstance(document, Problem):
        return [document]
    checker = _Checker(team=team_name(team) if team else None, aud=aud)
    checker.check(document)
    return checker.problems


def _parse(data: bytes) -> dict[Any, Any] | Problem:
    def refuse(message: str, fix: str = "Start again from the shipped file.") -> Problem:
        return Problem("error", FILE_KEY, message, fix)

    if len(data) > MAX_BYTES:
        return refuse(f"is larger than {MAX_BYTES} bytes; a cloudflared config is a few KB.")
    try:
        # SafeLoader plus a duplicate-key check: builds only plain dicts, lists and scalars.
        document = yaml.load(data.decode("utf-8"), Loader=_StrictLoader)
    except UnicodeDecodeError:
        return refuse("is not UTF-8 text (a binary file?).")
    except yaml.YAMLError as exc:
        return refuse(f"is not valid YAML: {' '.join(str(exc).split())}", "Fix the YAML syntax.")
    except RecursionError:
        return refuse("is nested too deeply to be a cloudflared config.")
    if document is None:
        return refuse("is empty.")
    if not isinstance(document, dict):
        return refuse(f"is a YAML {type(document).__name__}, not a mapping (tunnel:, ingress:…).")
    return document


class _StrictLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses duplicate keys, as cloudflared's YAML decoder does."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # unhashable: construct_mapping below reports it
            continue
        if duplicate:
            message = f"duplicate key {key!r}, which cloudflared refuses"
            raise yaml.constructor.ConstructorError(None, None, message, key_node.start_mark)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass
class _Checker:
    team: str | None
    aud: str | None
    problems: list[Problem] = field(default_factory=list)

    def error(self, key: str, message: str, fix: str) -> None:
        self.problems.append(Problem("error", key, message, fix))

    def warn(self, key: str, message: str, fix: str) -> None:
        self.problems.append(Problem("warning", key, message, fix))

    def check(self, doc: dict[Any, Any]) -> None:
        tunnel = self.text("tunnel", doc.get("tunnel"), "the UUID from `cloudflared tunnel create`")
        self.credentials(doc.get("credentials-file"), tunnel)
        self.ingress(doc.get("ingress"))
        if "originRequest" in doc:
            self.origin_request("originRequest", doc["originRequest"], top_level=True)
        self.metrics(doc.get("metrics"))
        if doc.get("no-autoupdate") is not True:
            why = "is not true: cloudflared would try to replace its own binary."
            self.warn("no-autoupdate", why, "Set `no-autoupdate: true`; upgrades come from apt.")
        self.top_level_keys(doc)

    def text(self, key: str, value: Any, what: str) -> str | None:
        """``value`` when it is a filled-in string; otherwise report it and return None."""
        if value is None or (isinstance(value, str) and not value.strip()):
            self.error(key, "is missing.", f"Set it to {what}.")
        elif not isinstance(value, str):
            self.error(key, f"must be a string, not {value!r}.", f"Set it to {what}.")
        elif PLACEHOLDER.search(value):
            self.error(key, f"is still the placeholder {value!r}.", f"Replace it with {what}.")
        else:
            return value
        return None

    def credentials(self, value: Any, tunnel: str | None) -> None:
        what = "the absolute path of the tunnel's <UUID>.json credential"
        path = self.text("credentials-file", value, what)
        if path is not None and not path.startswith("/"):
            self.error("credentials-file", f"{path!r} is not an absolute path.", f"Use {what}.")
        elif path is not None:
            credential, problems = read_credential(Path(path))
            self.problems += problems
            if credential is not None:
                self.credential_fields(credential, tunnel)

    def credential_fields(self, credential: dict[Any, Any], tunnel: str | None) -> None:
        fix = "Copy the <UUID>.json that `cloudflared tunnel create` wrote, unchanged."
        account, secret, tunnel_id = (credential.get(k) for k in CREDENTIAL_KEYS)
        if not isinstance(account, str) or not account:
            self.error("credentials-file.AccountTag", "is missing or empty.", fix)
        if not is_base64(secret):
            self.error("credentials-file.TunnelSecret", "is missing or not base64.", fix)
        if not isinstance(tunnel_id, str) or not UUID.fullmatch(tunnel_id):
            self.error("credentials-file.TunnelID", "is missing or not a UUID.", fix)
        elif tunnel and UUID.fullmatch(tunnel) and tunnel.lower() != tunnel_id.lower():
            why = f"is {tunnel} but the credential is for tunnel {tunnel_id}."
            self.error("tunnel", why, "Install this tunnel's credential, or fix the UUID.")
        elif tunnel and not UUID.fullmatch(tunnel) and credential.get("TunnelName") != tunnel:
            why = f"{tunnel!r} is not the credential's TunnelName; only cert.pem could resolve it."
            self.error("tunnel", why, f"Set tunnel: to the UUID {tunnel_id}.")

    def ingress(self, rules: Any) -> None:
        fix = f"List the API rule (service: {API_SOCKET}) and end with `- service: {CATCH_ALL}`."
        if not isinstance(rules, list) or not rules:
            self.error("ingress", "must be a non-empty list of rules.", fix)
            return
        reaching = [self.rule(i, rule, last=i == len(rules) - 1) for i, rule in enumerate(rules)]
        if not any(reaching):
            self.warn("ingress", "no rule reaches the Editorial Assistant.", fix)

    def rule(self, index: int, rule: Any, *, last: bool) -> bool:
        """Check one rule; True when it sends requests to an origin service."""
        key = f"ingress[{index}]"
        if not isinstance(rule, dict):
            self.error(key, "must be a mapping with a service:.", "Write it as `- service: …`.")
            return False
        self.unknown(key, rule, RULE_KEYS)
        service = self.text(f"{key}.service", rule.get("service"), API_SOCKET)
        if last and service not in (None, CATCH_ALL):
            why = f"is {service!r}: the last rule gets every unknown host name."
            self.error(f"{key}.service", why, f"End with `- service: {CATCH_ALL}`.")
            reaches = not service.startswith("http_status:") and refusal(service) is None
        else:
            reaches = service is not None and self.service(f"{key}.service", service)
        self.matching(key, rule.get("hostname"), rule.get("path"), last=last)
        if "originRequest" in rule:
            self.origin_request(f"{key}.originRequest", rule["originRequest"], top_level=False)
        if reaches:
            self.access(f"{key}.originRequest", rule.get("originRequest"))
        return reaches

    def matching(self, key: str, hostname: Any, path: Any, *, last: bool) -> None:
        for name, value in (("hostname", hostname), ("path", path)):
            if value is not None and not isinstance(value, str):
                self.error(f"{key}.{name}", f"must be a string, not {value!r}.", "Quote it.")
                return
        if hostname:
            self.hostname(f"{key}.hostname", hostname)
        catch_all = hostname in (None, "", "*") and not path
        if last and not catch_all:
            why = "is the last rule but has a hostname or path; the last must match everything."
            self.error(key, why, f"Add `- service: {CATCH_ALL}` after it.")
        elif not last and catch_all:
            why = "has no hostname or path, so it matches everything and later rules never run."
            self.error(key, why, "Give it a hostname, or make it the last rule.")

    def hostname(self, key: str, hostname: str) -> None:
        if PLACEHOLDER.search(hostname):
            self.error(key, f"is still the placeholder {hostname!r}.", "Use the public host name.")
        elif re.search(r":\d*$", hostname):
            self.error(key, f"{hostname!r} has a port; cloudflared refuses it.", "Drop the port.")
        elif hostname.rfind("*") > 0:
            self.error(key, f"{hostname!r}: a wildcard may only start it.", "Use `*.example.org`.")

    def service(self, key: str, service: str) -> bool:
        """Check a rule's service; True when it reaches an origin (not an ``http_status``)."""
        if service.startswith("http_status:"):
            code = service.removeprefix("http_status:")
            if not code.isdigit() or not 100 <= int(code) <= 999:
                self.error(key, f"{service!r} is not an HTTP status.", f"Use {CATCH_ALL}.")
            return False
        why = refusal(service)
        if why:
            self.error(
                key, f"{service!r} {why}. Allowed: {ALLOWED_SERVICES}.", f"Use {API_SOCKET}."
            )
        return why is None

    def origin_request(self, key: str, value: Any, *, top_level: bool) -> None:
        if not isinstance(value, dict):
            self.error(key, "must be a mapping.", "Indent its settings under it.")
            return
        self.unknown(key, value, ORIGIN_KEYS)
        if value.get("bastionMode") is True:
            self.error(f"{key}.bastionMode", "turns the rule into a jump host.", "Remove it.")
        if value.get("proxyType"):
            self.error(f"{key}.proxyType", "starts a proxy into the VM's network.", "Remove it.")
        if top_level and "access" in value:
            why = "is ignored by cloudflared at the top level (cloudflare/cloudflared#784)."
            self.warn(f"{key}.access", why, "Move it under the API rule's originRequest.")

    def access(self, key: str, origin_request: Any) -> None:
        access = origin_request.get("access") if isinstance(origin_request, dict) else None
        if not isinstance(access, dict):
            why = "is missing: cloudflared would not check the Access token on this rule."
            fix = "Add access: {required: true, teamName, audTag: [...]} to this rule's block."
            self.error(f"{key}.access", why, fix)
            return
        self.unknown(f"{key}.access", access, ACCESS_KEYS)
        if access.get("required") is not True:
            self.error(f"{key}.access.required", "must be true.", "Set `required: true`.")
        self.team_name(f"{key}.access.teamName", access.get("teamName"))
        self.aud_tags(f"{key}.access.audTag", access.get("audTag"))

    def team_name(self, key: str, value: Any) -> None:
        team = self.text(key, value, "the Access team name (<team>.cloudflareaccess.com)")
        if team is not None and not TEAM_NAME.fullmatch(team):
            bare = team_name(team)
            fix = f"Use {bare!r}." if TEAM_NAME.fullmatch(bare) else "Use the team name only."
            why = f"{team!r} is not a bare team name (cloudflared adds .cloudflareaccess.com)."
            self.error(key, why, fix)
        elif team is not None and self.team is not None and team.lower() != self.team:
            self.error(key, f"is {team!r}; the service expects {self.team!r}.", "Make them match.")

    def aud_tags(self, key: str, value: Any) -> None:
        if isinstance(value, str):
            why = "is a string; cloudflared reads a list and refuses to start otherwise."
            self.error(key, why, f"Write it as a list: `audTag: [{value!r}]`.")
            return
        if not isinstance(value, list) or not value:
            self.error(key, "must be a non-empty list.", "List the application's AUD tag.")
            return
        tags = [self.text(f"{key}[{i}]", tag, "the AUD tag") for i, tag in enumerate(value)]
        for i, tag in enumerate(tags):
            if tag is not None and not AUD_TAG.fullmatch(tag):
                why = "does not look like an AUD tag (64 hexadecimal characters)."
                self.warn(f"{key}[{i}]", why, "Copy it from the Access application's overview.")
        if self.aud is not None and self.aud not in tags:
            self.error(key, f"does not include the service's AUD tag {self.aud!r}.", "Add it.")

    def metrics(self, value: Any) -> None:
        fix = "Set `metrics: 127.0.0.1:20241`."
        host = metrics_host(value)
        if value is None:
            self.warn("metrics", "is not set: cloudflared picks an address itself.", fix)
        elif host is None:
            self.error("metrics", f"{value!r} is not host:port.", fix)
        elif not is_loopback(host):
            where = repr(host) if host else "every interface"
            self.error("metrics", f"listens on {where}; it must stay on loopback.", fix)

    def top_level_keys(self, doc: dict[Any, Any]) -> None:
        if "origincert" in doc:
            why = "is the account certificate, which manages every tunnel; the VM needs none."
            self.warn("origincert", why, "Remove it; keep cert.pem on the admin machine.")
        for key, why in REFUSED_KEYS.items():
            warp_off = key == "warp-routing" and not _enabled(doc.get(key))
            if key in doc and not warp_off:
                self.error(key, f"{why}.", "Remove it.")
        self.unknown("", doc, KNOWN_KEYS | REFUSED_KEYS.keys())

    def unknown(self, key: str, mapping: dict[Any, Any], known: frozenset[str]) -> None:
        for name in mapping:
            if name not in known:
                where = f"{key}.{name}" if key else str(name)
                self.warn(where, "is not a key cloudflared knows here.", "Check its spelling.")


def _enabled(value: Any) -> bool:
    return not isinstance(value, dict) or bool(value.get("enabled"))
