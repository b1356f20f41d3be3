"""The settings of the work itself: the API, the LLM backends and models, routing, budget, hosting
costs, intake, limits, the pipeline, jobs and the worker."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    field_validator,
)

from editorial_assistant.config.base import ORIGIN_PATTERN, URL_PATTERN, Section, setting


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
        pattern=ORIGIN_PATTERN,
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
        pattern=URL_PATTERN,
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
