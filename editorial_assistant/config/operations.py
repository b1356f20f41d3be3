"""The settings of running the service: access, rate limits, backups, alerts, the monitor,
metrics, status and logs."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Literal

from pydantic import (
    field_validator,
    model_validator,
)

from editorial_assistant.config.base import (
    EMAIL_PATTERN,
    EMAILS_PATTERN,
    OPTIONAL_URL_PATTERN,
    RATE_PATTERN,
    Section,
    setting,
)


class AuthSettings(Section):
    mode: Literal["access", "local", "keys-only"] = setting(
        "local",
        "How people sign in: `access` (Cloudflare Access in front; the service verifies its "
        "token on every request), `local` (accounts with passwords and sessions) or `keys-only` "
        "(API keys only, no browser sign-in). API keys work in every mode.",
        env="EA_AUTH_MODE",
    )
    access_team_domain: str = setting(
        "",
        "Cloudflare Access team domain, such as `station.cloudflareaccess.com` (access mode).",
        env="EA_ACCESS_TEAM_DOMAIN",
    )
    access_aud: str = setting(
        "",
        "The Access application's AUD tag (access mode).",
        env="EA_ACCESS_AUD",
    )
    access_certs_url: str = setting(
        "",
        "Where the team's signing keys are fetched; empty means "
        "`https://<team domain>/cdn-cgi/access/certs`.",
        env="EA_ACCESS_CERTS_URL",
    )
    access_auto_provision: bool = setting(
        False,
        "Create an account on first sign-in for an Access user nobody has added yet.",
    )
    access_default_role: Literal["viewer", "editor"] = setting(
        "viewer", "Role given to accounts created by `access_auto_provision`."
    )
    session_idle_minutes: int = setting(
        60, "A browser session ends after this long without a request.", ge=5, le=1440
    )
    session_absolute_hours: int = setting(
        12, "A browser session ends this long after sign-in, however busy.", ge=1, le=720
    )
    lockout_threshold: int = setting(
        5, "Failed sign-ins in a row that lock an account.", ge=1, le=100
    )
    lockout_minutes: int = setting(
        15,
        "How long a locked account stays locked (an admin can unlock it sooner).",
        ge=1,
        le=10_080,
    )
    cookie_secure: Literal["auto", "always", "never"] = setting(
        "auto",
        "Mark the session cookie Secure: `auto` does when the request came over HTTPS "
        "(through the tunnel), `always`, or `never`.",
    )

    @model_validator(mode="after")
    def _access_needs_team_and_aud(self) -> AuthSettings:
        if self.mode != "access":
            return self
        if not TEAM_DOMAIN.fullmatch(self.access_team_domain.strip().lower()):
            raise ValueError(
                f"access_team_domain is {self.access_team_domain!r}; access mode needs the "
                "team domain, such as station.cloudflareaccess.com (Zero Trust > Settings)"
            )
        if not AUD_TAG.fullmatch(self.access_aud.strip()):
            raise ValueError(
                f"access_aud is {self.access_aud!r}; access mode needs the application's AUD tag "
                "(64 hexadecimal characters, Access > Applications > Overview)"
            )
        return self


TEAM_DOMAIN = re.compile(r"(https://)?[a-z0-9][a-z0-9-]{0,62}\.cloudflareaccess\.com/?")
AUD_TAG = re.compile(r"[0-9a-f]{64}")


class RateLimitSettings(Section):
    enabled: bool = setting(True, "Apply the rate limits below.")
    login: str = setting("10/minute", "Sign-in attempts per client address.", pattern=RATE_PATTERN)
    read: str = setting(
        "600/minute", "Reads (GET) per client address and per caller.", pattern=RATE_PATTERN
    )
    write: str = setting(
        "120/minute",
        "Changes (POST, PATCH, PUT, DELETE) per client address and per caller.",
        pattern=RATE_PATTERN,
    )
    upload: str = setting(
        "30/minute", "Caption file uploads per client address and per caller.", pattern=RATE_PATTERN
    )


class BackupSettings(Section):
    restic_repository: str = setting(
        "",
        "restic repository for the daily archive: a local path, `sftp:user@host:/path` or "
        "`s3:https://host/bucket/path`. Empty: only the local daily snapshot is kept. Its "
        "password is the secret `restic_password`.",
        env="EA_RESTIC_REPOSITORY",
    )
    litestream_replica_url: str = setting(
        "",
        "Where Litestream replicates the database continuously: `file:///path`, "
        "`sftp://user@host/path` or `s3://bucket/path`. Empty: no continuous replication.",
        env="EA_LITESTREAM_REPLICA_URL",
    )
    snapshot_keep_days: int = setting(
        30, "Daily database snapshots kept in the snapshots folder.", ge=1, le=3650
    )
    outputs_archive_after_days: int = setting(
        90,
        "Outputs older than this are archived to restic, then removed from the live disk "
        "(0 keeps them all on disk).",
        ge=0,
        le=36500,
    )
    restic_keep_daily: int = setting(
        30, "restic snapshots kept: one a day for this many days.", ge=1
    )
    restic_keep_weekly: int = setting(12, "… then one a week for this many weeks.", ge=0)
    restic_keep_monthly: int = setting(24, "… then one a month for this many months.", ge=0)
    check_rotation_days: int = setting(
        14,
        "Each run reads 1/N of the repository's data (`restic check --read-data-subset`), so "
        "all of it is verified every N days.",
        ge=1,
        le=365,
    )
    max_age_hours: float = setting(
        26, "A last good backup older than this is reported (status, alerts).", gt=0
    )
    litestream_metrics: str = setting(
        "127.0.0.1:9090", "Where Litestream serves its Prometheus metrics (loopback only)."
    )
    drill_max_lag_seconds: float = setting(
        300,
        "The restore drill fails when the Litestream replica's newest change is further behind "
        "the live database's than this.",
        gt=0,
    )
    drill_max_age_days: float = setting(
        8, "A last passed restore drill older than this is reported (status, alerts).", gt=0
    )


class AlertSettings(Section):
    webhook_url: str = setting(
        "",
        "Alerts are POSTed here as JSON (one request when a condition starts, one when it "
        "clears). Empty: no webhook.",
        pattern=OPTIONAL_URL_PATTERN,
    )
    email_to: str = setting(
        "",
        "Alerts are e-mailed to these addresses (comma-separated). Empty: no e-mail.",
        pattern=EMAILS_PATTERN,
    )
    email_from: str = setting(
        "",
        "Sender of alert e-mails. Empty: `editorial-assistant@<this host's name>`.",
        pattern=EMAIL_PATTERN,
    )
    smtp_host: str = setting(
        "",
        "SMTP server for alert e-mails. Empty: the local mail transfer agent "
        "(`/usr/sbin/sendmail`).",
    )
    smtp_port: int = setting(587, "SMTP server port.", ge=1, le=65535)
    smtp_starttls: bool = setting(True, "Upgrade the SMTP connection with STARTTLS.")
    smtp_username: str = setting(
        "", "SMTP user name; its password is the secret `smtp_password`. Empty: no login."
    )
    deadman_url: str = setting(
        "",
        "A healthchecks-style URL pinged (GET) after each monitor run that found nothing "
        "firing, and `<url>/fail` when something is. Empty: no ping.",
        pattern=OPTIONAL_URL_PATTERN,
    )
    resolve_after_minutes: float = setting(
        5,
        "A firing alert resolves only after its condition stayed clear this long, so a value "
        "hovering at its threshold does not notify again and again.",
        ge=0,
        le=1440,
    )
    retry_hours: float = setting(
        24, "A notification a channel did not take is tried again for this long.", gt=0, le=720
    )
    timeout_seconds: float = setting(
        10, "Time allowed for one delivery (webhook, SMTP, ping).", gt=0, le=120
    )


class MonitorSettings(Section):
    window_minutes: float = setting(
        5, "Request latency, error rates and LLM errors are judged over this window.", gt=0
    )
    api_p95_seconds: float = setting(
        5, "Alert when the API's 95th percentile latency exceeds this (0.05 to 10 s).",
        ge=0.05, le=10,
    )  # fmt: skip
    api_error_ratio: float = setting(
        0.05, "Alert when more than this share of API requests answer 5xx.", gt=0, le=1
    )
    min_requests: int = setting(
        20, "Latency and error rate are judged only over at least this many requests.", ge=1
    )
    queue_depth: int = setting(20, "Alert when more jobs than this wait in the queue.", ge=1)
    disk_ratio: float = setting(
        0.80, "Alert when the data folder's disk is fuller than this.", gt=0, le=1
    )
    memory_ratio: float = setting(
        0.90, "Alert when the host's memory is more used than this.", gt=0, le=1
    )
    llm_error_ratio: float = setting(
        0.10, "Alert when more than this share of LLM calls in the window failed.", gt=0, le=1
    )
    min_llm_calls: int = setting(
        10, "LLM errors are judged only over at least this many calls.", ge=1
    )
    budget_warn_ratio: float = setting(
        0.80, "Warn when this share of the monthly budget is spent (and again at 100 %).",
        gt=0, lt=1,
    )  # fmt: skip


class MetricsSettings(Section):
    listen: str = setting(
        "127.0.0.1:9464",
        "Loopback address and port where the API's master process serves `GET /metrics` "
        "(Prometheus text format) to a local scraper, apart from the API's own socket so the "
        "tunnel never reaches it. `off` or empty: not served.",
    )

    @field_validator("listen")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        loopback_address(value)
        return value.strip()

    @property
    def address(self) -> tuple[str, int] | None:
        """Where to listen, or None when the listener is off."""
        return loopback_address(self.listen)


METRICS_LISTEN_ALLOWED = (
    "a loopback address and port (127.0.0.1:9464, [::1]:9464, localhost:9464) or off"
)


def loopback_address(value: str) -> tuple[str, int] | None:
    """``host:port`` on loopback, or None for ``off`` or empty; ``ValueError`` otherwise."""
    text = value.strip()
    if text.lower() in ("", "off"):
        return None
    host, _, port = text.rpartition(":")
    host = "127.0.0.1" if host == "localhost" else host.removeprefix("[").removesuffix("]")
    if not (port.isdigit() and 1 <= int(port) <= 65535 and _is_loopback(host)):
        raise ValueError(f"must be {METRICS_LISTEN_ALLOWED}; /metrics is for local scrapers only")
    return host, int(port)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class StatusSettings(Section):
    probe_timeout_seconds: float = setting(
        3.0,
        "Longest `status`, `doctor` and `GET /api/system/status` wait for any one probe (the "
        "API's /readyz, cloudflared's /ready, systemctl).",
        gt=0,
        le=60,
    )
    worker_stale_minutes: float = setting(
        10.0,
        "A job queued this long while no job runs means the worker is not consuming: the "
        "worker line turns FAIL.",
        gt=0,
    )
    cloudflared_config: Path = setting(
        Path("/etc/editorial-assistant/cloudflared.yml"),
        "cloudflared's configuration. The tunnel counts as set up, as its unit does, once a "
        "credential (`*.json`) is in the `cloudflared/` folder beside this file.",
    )
    cloudflared_metrics: str = setting(
        "127.0.0.1:20241",
        "Where cloudflared serves `/ready` (the `metrics:` key of its configuration); a "
        "loopback address and port.",
    )

    @field_validator("cloudflared_metrics")
    @classmethod
    def _loopback_metrics(cls, value: str) -> str:
        try:
            address = loopback_address(value)
        except ValueError:
            address = None
        if address is None:
            raise ValueError("must be a loopback address and port such as 127.0.0.1:20241")
        return value.strip()


class LogSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = setting("INFO", "Log level.")
