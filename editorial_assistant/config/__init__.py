"""The one typed settings object, read once at start-up; nothing else reads the environment.

Precedence, lowest first: the defaults below < ``/etc/editorial-assistant/editorial-assistant.toml``
(or the file named by ``EA_CONFIG``) < ``conf.d/*.toml`` beside that file, in name order < the
environment. Each setting's environment variable is ``EA_<SECTION>_<NAME>`` unless the field names
another in ``env``. Secrets never live here: ``Settings.secret(name)`` reads them from
``$CREDENTIALS_DIRECTORY/<name>`` (systemd credentials), else ``EA_<NAME>_FILE``, else
``EA_<NAME>``.
"""

from __future__ import annotations

from editorial_assistant.config.base import DEFAULT_CONFIG_FILE, RATE_PATTERN, Section, setting
from editorial_assistant.config.loading import Settings, iter_settings, load_settings
from editorial_assistant.config.operations import (
    AUD_TAG,
    METRICS_LISTEN_ALLOWED,
    TEAM_DOMAIN,
    AlertSettings,
    AuthSettings,
    BackupSettings,
    LogSettings,
    MetricsSettings,
    MonitorSettings,
    RateLimitSettings,
    StatusSettings,
    loopback_address,
)
from editorial_assistant.config.work import (
    HOSTING_OPTIONS,
    TIER_DEFAULTS,
    ApiSettings,
    BudgetSettings,
    HostingSettings,
    IntakeSettings,
    JobSettings,
    LimitsSettings,
    LlmSettings,
    ModelSettings,
    PipelineSettings,
    RoutingSettings,
    WorkerSettings,
)

__all__ = [
    "AUD_TAG",
    "DEFAULT_CONFIG_FILE",
    "HOSTING_OPTIONS",
    "METRICS_LISTEN_ALLOWED",
    "RATE_PATTERN",
    "TEAM_DOMAIN",
    "TIER_DEFAULTS",
    "AlertSettings",
    "ApiSettings",
    "AuthSettings",
    "BackupSettings",
    "BudgetSettings",
    "HostingSettings",
    "IntakeSettings",
    "JobSettings",
    "LimitsSettings",
    "LlmSettings",
    "LogSettings",
    "MetricsSettings",
    "ModelSettings",
    "MonitorSettings",
    "PipelineSettings",
    "RateLimitSettings",
    "RoutingSettings",
    "Section",
    "Settings",
    "StatusSettings",
    "WorkerSettings",
    "iter_settings",
    "load_settings",
    "loopback_address",
    "setting",
]
