"""The settings object and how it is read: defaults, the TOML files, the environment, secrets."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    ValidationError,
)

from editorial_assistant.config.base import ALLOWED, DEFAULT_CONFIG_FILE, Section, setting
from editorial_assistant.config.operations import (
    AlertSettings,
    AuthSettings,
    BackupSettings,
    LogSettings,
    MetricsSettings,
    MonitorSettings,
    RateLimitSettings,
    StatusSettings,
)
from editorial_assistant.config.work import (
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
from editorial_assistant.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 on Ubuntu 22.04
    import tomli as tomllib


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
    if error["type"] == "string_pattern_mismatch" and error["ctx"]["pattern"] in ALLOWED:
        return f"{name} = {value!r}: must be {ALLOWED[error['ctx']['pattern']]}"
    if isinstance(value, Mapping):  # a whole section failed a cross-field check
        return f"{name}: {error['msg'].removeprefix('Value error, ')}"
    return f"{name} = {value!r}: {error['msg']}"
