"""The one typed settings object, read once at start-up; nothing else reads the environment.

Precedence, lowest first: the defaults below < ``/etc/editorial-assistant/editorial-assistant.toml``
(or the file named by ``EA_CONFIG``) < ``conf.d/*.toml`` beside that file, in name order < the
environment. Each setting's environment variable is ``EA_<SECTION>_<NAME>`` unless the field names
another in ``env``. Secrets never live here: ``Settings.secret(name)`` reads them from
``$CREDENTIALS_DIRECTORY/<name>`` (systemd credentials), else ``EA_<NAME>_FILE``, else
``EA_<NAME>``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict

from editorial_assistant.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 on Ubuntu 22.04
    import tomli as tomllib

DEFAULT_CONFIG_FILE = Path("/etc/editorial-assistant/editorial-assistant.toml")
# "10/minute", "600/hour", "5/second", "30/day" or "20/15s".
RATE_PATTERN = r"^[1-9][0-9]{0,6}/([1-9][0-9]{0,5}s|second|minute|hour|day)$"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def setting(default: Any, description: str, *, env: str | None = None, **kw: Any) -> Any:
    """A documented setting; ``env`` overrides the derived environment variable name."""
    extra: JsonDict | None = {"env": env} if env else None
    return Field(default, description=description, json_schema_extra=extra, **kw)


class ApiSettings(Section):
    host: str = setting("127.0.0.1", "Address the HTTP API binds to. Keep it on loopback.")
    port: int = setting(8000, "TCP port of the HTTP API.", ge=1, le=65535)
    socket: Path | None = setting(
        None,
        "Unix socket the API listens on instead of host and port (the package uses "
        "`/run/editorial-assistant/api.sock`; cloudflared connects to it). Empty means TCP.",
    )
    workers: int = setting(
        2, "gunicorn worker processes for `editorial-assistant api`.", ge=1, le=64
    )
    graceful_timeout_seconds: int = setting(
        30, "Seconds gunicorn lets in-flight requests finish on stop.", ge=1, le=600
    )
    public_url: str = setting(
        "",
        "The address people open the service at, such as https://editorial.example.org (the "
        "tunnel's hostname); used in one-time sign-in links. Empty means http://host:port.",
        pattern=r"^(https?://[A-Za-z0-9.:\[\]-]+)?$",
    )
    max_body_bytes: int = setting(
        1_000_000,
        "Largest request body other than a caption upload (see `intake.max_upload_bytes`).",
        ge=1_000,
        le=100_000_000,
    )

    @field_validator("socket", mode="before")
    @classmethod
    def _empty_means_tcp(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("socket")
    @classmethod
    def _absolute_socket(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_absolute():
            raise ValueError(
                f"must be an absolute path such as /run/editorial-assistant/api.sock, not {value}"
            )
        return value


class LlmSettings(Section):
    backend: Literal["auto", "local", "openrouter"] = setting(
        "auto",
        "Which LLM backend runs the phases: `openrouter`, the built-in rule-based `local` "
        "backend, or `auto` (OpenRouter when an API key is configured, else local).",
    )
    openrouter_base_url: str = setting(
        "https://openrouter.ai/api/v1",
        "OpenRouter's API base URL (tests point it at a local server).",
        env="EA_OPENROUTER_BASE_URL",
        pattern=r"^https?://[^\s]+$",
    )
    timeout_seconds: float = setting(
        180,
        "Longest wait for one OpenRouter answer before it counts as a timeout.",
        gt=0,
        le=1800,
    )
    max_retries: int = setting(
        2, "Retries of a transient failure (429, 5xx, timeout) on the same model.", ge=0, le=10
    )
    retry_backoff_seconds: float = setting(
        2.0,
        "First retry delay; doubles each retry, with jitter (a 429's Retry-After wins).",
        ge=0,
        le=300,
    )
    app_url: str = setting(
        "https://pbswisconsin.org", "Sent as HTTP-Referer so OpenRouter attributes usage."
    )
    app_title: str = setting("PBS Wisconsin Editorial Assistant", "Sent as X-Title.")
    local_delay_seconds: float = setting(
        0.0,
        "Simulated latency per call of the local backend, for demonstrations and load tests.",
        ge=0,
        le=60,
    )


TIER_DEFAULTS = {
    "cheap": ["google/gemini-2.5-flash", "openai/gpt-4o-mini"],
    "default": ["anthropic/claude-sonnet-4", "openai/gpt-4o"],
    "strong": ["anthropic/claude-opus-4", "anthropic/claude-sonnet-4"],
}


class ModelSettings(Section):
    cheap: list[str] = setting(
        TIER_DEFAULTS["cheap"],
        "Tier 0 models: primary first, then fallbacks (OpenRouter slugs).",
        min_length=1,
    )
    default: list[str] = setting(
        TIER_DEFAULTS["default"], "Tier 1 models, primary first.", min_length=1
    )
    strong: list[str] = setting(
        TIER_DEFAULTS["strong"], "Tier 2 models, primary first.", min_length=1
    )
    prices_file: Path = setting(
        Path("models.json"),
        "Price table (USD per token) written by `editorial-assistant models refresh`; relative "
        "to the data folder.",
    )
    prices: dict[str, dict[str, float]] = setting(
        {},
        "Prices (USD per token) set by hand, by model slug, as `{ prompt = …, completion = … }`; "
        "they win over the refreshed table.",
    )
    fallback_prompt_price: float = setting(
        15e-6, "Price per prompt token assumed for a model missing from the price table.", ge=0
    )
    fallback_completion_price: float = setting(
        75e-6, "Price per output token assumed for a model missing from the price table.", ge=0
    )

    @field_validator("prices")
    @classmethod
    def _prompt_and_completion(
        cls, value: dict[str, dict[str, float]]
    ) -> dict[str, dict[str, float]]:
        for slug, price in value.items():
            if set(price) != {"prompt", "completion"} or min(price.values()) < 0:
                raise ValueError(f"{slug} needs exactly prompt and completion, both >= 0")
        return value

    def for_tier(self, tier: int) -> list[str]:
        """The models of a tier, primary first."""
        return [self.cheap, self.default, self.strong][tier]


class RoutingSettings(Section):
    base_tiers: dict[str, int] = setting(
        {"analyst": 0, "formatter": 0, "seo": 0, "manager": 2, "timestamp": 0},
        "Tier each phase starts at (0 cheap, 1 default, 2 strong) before length raises it.",
    )
    default_tier_above_minutes: float = setting(
        30, "Programmes longer than this start at least at tier 1.", ge=0
    )
    strong_tier_above_minutes: float = setting(
        45, "Programmes longer than this start at tier 2.", ge=0
    )

    @field_validator("base_tiers")
    @classmethod
    def _known_phases_and_tiers(cls, value: dict[str, int]) -> dict[str, int]:
        phases = ("analyst", "formatter", "seo", "manager", "timestamp")
        for phase, tier in value.items():
            if phase not in phases or tier not in (0, 1, 2):
                raise ValueError(
                    f"each key must be one of {', '.join(phases)} and each tier "
                    f"0, 1 or 2 (got {phase} = {tier})"
                )
        return value


class BudgetSettings(Section):
    job_cap_usd: float = setting(1.00, "Most one job may spend on LLM calls, in USD.", ge=0)
    monthly_usd: float = setting(100.0, "Most all jobs may spend in a calendar month (UTC).", ge=0)


HOSTING_OPTIONS = ("home_vm", "station_vm", "cloud_vm", "vps")


class HostingSettings(Section):
    """Monthly hosting figures for the cost report's comparison; rough placeholders until the
    station puts in its own quotes (the plan names the options but gives no prices)."""

    current: Literal["home_vm", "station_vm", "cloud_vm", "vps"] = setting(
        "station_vm", "Where the service runs now; the cost report marks that row."
    )
    home_vm_usd: float = setting(
        10.0,
        "Monthly cost of a VM on a machine at someone's home (power, a share of the line), USD.",
        ge=0,
    )
    station_vm_usd: float = setting(
        0.0,
        "Monthly cost of a VM on the station's own hypervisor, USD (0: the station already pays "
        "for the hardware; put in an internal charge if IT bills one).",
        ge=0,
    )
    cloud_vm_usd: float = setting(
        35.0,
        "Monthly cost of a cloud VM (2 vCPU, 4 GB, 30 GB disk, on demand), USD.",
        ge=0,
    )
    vps_usd: float = setting(12.0, "Monthly cost of a rented VPS (2 vCPU, 4 GB), USD.", ge=0)


class IntakeSettings(Section):
    max_upload_bytes: int = setting(
        5_000_000, "Largest caption file accepted, in bytes.", ge=1_000, le=100_000_000
    )


class LimitsSettings(Section):
    title: int = setting(60, "Longest SEO title, in characters.", ge=10, le=500)
    short_description: int = setting(
        90, "Longest short description, in characters.", ge=10, le=1000
    )
    long_description: int = setting(350, "Longest long description, in characters.", ge=10, le=5000)


class PipelineSettings(Section):
    formatter_chunk_words: int = setting(
        1500,
        "The formatter sends long transcripts in chunks of about this many words.",
        ge=100,
        le=50_000,
    )
    completeness_threshold: float = setting(
        0.70, "Pause a job when formatted words / spoken words falls below this ratio.", gt=0, le=1
    )
    completeness_min_words: int = setting(
        500, "Only check completeness for transcripts with more spoken words than this.", ge=0
    )
    timestamp_min_minutes: float = setting(
        30, "Run the timestamp phase for programmes at least this long (or on request).", ge=0
    )


class JobSettings(Section):
    heartbeat_seconds: float = setting(
        10, "How often a running job records that it is alive.", gt=0, le=300
    )
    stale_after_seconds: float = setting(
        60, "A running job whose heartbeat is older than this is re-queued.", ge=5, le=86_400
    )
    max_attempts: int = setting(3, "Times a job may be started before it is failed.", ge=1, le=20)


class WorkerSettings(Section):
    concurrency: int = setting(
        4,
        "LLM calls the worker makes at once (its call slots). It keeps three times as many jobs "
        "in progress, one thread each, so a slot that frees has a call waiting for it.",
        ge=1,
        le=64,
    )
    poll_interval_seconds: float = setting(
        0.05, "How often an idle worker looks for new work.", ge=0.01, le=10
    )
    stop_grace_seconds: float = setting(
        45,
        "On a graceful stop (SIGINT, `systemctl stop`), how long running phases may finish "
        "before their jobs are handed back to the queue. Keep it below the unit's "
        "TimeoutStopSec (90 s).",
        ge=0,
        le=3600,
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
        pattern=r"^(https?://\S+)?$",
    )
    email_to: str = setting(
        "",
        "Alerts are e-mailed to these addresses (comma-separated). Empty: no e-mail.",
        pattern=r"^([^@,\s]+@[^@,\s]+(\s*,\s*[^@,\s]+@[^@,\s]+)*)?$",
    )
    email_from: str = setting(
        "",
        "Sender of alert e-mails. Empty: `editorial-assistant@<this host's name>`.",
        pattern=r"^([^@,\s]+@[^@,\s]+)?$",
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
        pattern=r"^(https?://\S+)?$",
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


class Settings(Section):
    data_dir: Path = setting(
        Path("/var/lib/editorial-assistant"),
        "Folder for everything the service writes (database, queue, transcripts, outputs).",
        env="EA_DATA_DIR",
    )
    api: ApiSettings = ApiSettings()
    llm: LlmSettings = LlmSettings()
    models: ModelSettings = ModelSettings()
    routing: RoutingSettings = RoutingSettings()
    budget: BudgetSettings = BudgetSettings()
    hosting: HostingSettings = HostingSettings()
    intake: IntakeSettings = IntakeSettings()
    limits: LimitsSettings = LimitsSettings()
    pipeline: PipelineSettings = PipelineSettings()
    jobs: JobSettings = JobSettings()
    worker: WorkerSettings = WorkerSettings()
    log: LogSettings = LogSettings()
    auth: AuthSettings = AuthSettings()
    rate_limits: RateLimitSettings = RateLimitSettings()
    backup: BackupSettings = BackupSettings()
    alerts: AlertSettings = AlertSettings()
    metrics: MetricsSettings = MetricsSettings()
    monitor: MonitorSettings = MonitorSettings()
    status: StatusSettings = StatusSettings()
    environ: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)
    sources: tuple[str, ...] = Field(default=(), exclude=True)
    # Secrets read before the CLI gives up root (see ``remember_secrets``).
    _remembered: dict[str, str | None] = PrivateAttr(default_factory=dict)

    @property
    def database_path(self) -> Path:
        """The application database (the one Litestream replicates)."""
        return self.data_dir / "editorial-assistant.db"

    @property
    def queue_path(self) -> Path:
        """The Huey queue's own database file."""
        return self.data_dir / "queue.db"

    @property
    def snapshot_dir(self) -> Path:
        """Database snapshots: before each migration, and the daily backup's."""
        return self.data_dir / "snapshots"

    def secret(self, name: str) -> str | None:
        """A secret from systemd credentials, ``EA_<NAME>_FILE``, ``EA_<NAME>``, or (for the
        CLI run as root) the credentials folder the units load them from."""
        if name in self._remembered:
            return self._remembered[name]
        env = self.environ
        upper = f"EA_{name.upper()}"
        for path in (_credential_path(env, name), env.get(f"{upper}_FILE")):
            if path and Path(path).is_file():
                return Path(path).read_text(encoding="utf-8").strip() or None
        return env.get(upper) or _stored_credential(env, name)

    def remember_secrets(self, names: Iterable[str]) -> None:
        """Read these secrets now, while the process may (root), and keep them for later."""
        for name in names:
            self._remembered[name] = self.secret(name)


def _credential_path(env: Mapping[str, str], name: str) -> str | None:
    folder = env.get("CREDENTIALS_DIRECTORY")
    return str(Path(folder) / name) if folder else None


def _stored_credential(env: Mapping[str, str], name: str) -> str | None:
    """``<name>`` or ``<name>.cred`` (decrypted by ``systemd-creds``) when this process may
    read the credentials folder, which only root can outside tests."""
    from editorial_assistant.ops.secrets import credentials_dir

    folder = credentials_dir(env)
    try:
        plain = folder / name
        if plain.is_file():
            return plain.read_text(encoding="utf-8").strip() or None
        encrypted = folder / f"{name}.cred"
        if not encrypted.is_file():
            return None
    except OSError:  # not root: the folder is 0700
        return None
    import subprocess

    done = subprocess.run(
        ["systemd-creds", f"--name={name}", "decrypt", str(encrypted), "-"],
        capture_output=True,
        check=False,
    )
    return done.stdout.decode("utf-8").strip() or None if done.returncode == 0 else None


def iter_settings(
    model: type[BaseModel] = Settings, prefix: str = ""
) -> Iterator[tuple[str, str, Any]]:
    """Yield (dotted name, environment variable, field) for every setting."""
    for name, field in model.model_fields.items():
        if name in ("environ", "sources"):
            continue
        dotted = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, Section):
            yield from iter_settings(annotation, f"{dotted}.")
            continue
        extra = field.json_schema_extra or {}
        env = extra.get("env") if isinstance(extra, dict) else None
        yield dotted, str(env or "EA_" + dotted.replace(".", "_").upper()), field


def load_settings(
    environ: Mapping[str, str] | None = None, *, config_file: Path | None = None
) -> Settings:
    """Read defaults, config files and environment; raise ``ConfigError`` listing every problem."""
    env = dict(os.environ if environ is None else environ)
    if config_file is not None:
        env["EA_CONFIG"] = str(config_file)
    merged: dict[str, Any] = {}
    sources: list[str] = []
    problems: list[str] = []
    for path in _config_files(env):
        try:
            _deep_merge(merged, tomllib.loads(path.read_text(encoding="utf-8")))
            sources.append(str(path))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            problems.append(f"{path}: cannot be read as TOML: {exc}")
    _apply_environment(merged, env)
    try:
        settings = Settings.model_validate({**merged, "environ": env, "sources": tuple(sources)})
    except ValidationError as exc:
        problems.extend(_describe(error) for error in exc.errors())
        settings = None
    if problems or settings is None:
        raise ConfigError(
            "Invalid configuration:\n  " + "\n  ".join(problems),
            hint="Fix the settings named above; see docs/reference/configuration.md.",
        )
    return settings


def _config_files(env: Mapping[str, str]) -> list[Path]:
    main = Path(env["EA_CONFIG"]) if env.get("EA_CONFIG") else DEFAULT_CONFIG_FILE
    files = [main] if main.exists() or env.get("EA_CONFIG") else []
    conf_d = main.parent / "conf.d"
    if conf_d.is_dir():
        files.extend(sorted(conf_d.glob("*.toml")))
    return files


def _apply_environment(merged: dict[str, Any], env: Mapping[str, str]) -> None:
    for dotted, variable, _field in iter_settings():
        if variable in env:
            *sections, leaf = dotted.split(".")
            target = merged
            for section in sections:
                existing = target.get(section)
                target = target.setdefault(section, {}) if isinstance(existing, dict | None) else {}
            target[leaf] = _from_environment(env[variable], _field)


def _from_environment(value: str, field: Any) -> Any:
    """Environment values are text: lists are comma-separated, tables are JSON."""
    origin = getattr(field.annotation, "__origin__", None)
    if origin is list:
        return [item.strip() for item in value.split(",") if item.strip()]
    if origin is dict:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _deep_merge(base: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = dict(value) if isinstance(value, Mapping) else value


def _describe(error: Mapping[str, Any]) -> str:
    name = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{name}: unknown setting (check the spelling against the configuration reference)"
    value = error.get("input")
    if error["type"] == "string_pattern_mismatch" and error["ctx"]["pattern"] == RATE_PATTERN:
        return (
            f"{name} = {value!r}: must be a count per period such as 10/minute "
            "(N/second, N/minute, N/hour, N/day or N/<seconds>s)"
        )
    if isinstance(value, Mapping):  # a whole section failed a cross-field check
        return f"{name}: {error['msg'].removeprefix('Value error, ')}"
    return f"{name} = {value!r}: {error['msg']}"
