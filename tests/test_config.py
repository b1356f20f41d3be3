"""The settings object: layering, validation messages, secrets, a complete reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from editorial_assistant.config import iter_settings, load_settings
from editorial_assistant.errors import ConfigError

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference" / "configuration.md"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_it_layers_defaults_file_conf_d_and_environment(tmp_path: Path) -> None:
    main = write(tmp_path / "ea.toml", "[api]\nport = 8100\nworkers = 3\n[limits]\ntitle = 70\n")
    write(tmp_path / "conf.d" / "10-port.toml", "[api]\nport = 8200\n")
    write(tmp_path / "conf.d" / "20-title.toml", "[limits]\ntitle = 75\n")
    settings = load_settings({"EA_CONFIG": str(main), "EA_LIMITS_TITLE": "80"})
    assert settings.api.workers == 3
    assert settings.api.port == 8200
    assert settings.limits.title == 80
    assert settings.limits.short_description == 90


def test_it_names_every_bad_setting_with_its_value(tmp_path: Path) -> None:
    main = write(tmp_path / "ea.toml", '[api]\nport = 70000\n[llm]\nbackend = "gpt"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings({"EA_CONFIG": str(main), "EA_WORKER_CONCURRENCY": "many"})
    message = caught.value.message
    assert "api.port = 70000" in message
    assert "llm.backend = 'gpt'" in message and "local" in message
    assert "worker.concurrency = 'many'" in message


def test_it_rejects_an_unknown_setting(tmp_path: Path) -> None:
    main = write(tmp_path / "ea.toml", "[api]\nprot = 1\n")
    with pytest.raises(ConfigError, match=r"api\.prot: unknown setting"):
        load_settings({"EA_CONFIG": str(main)})


def test_it_reports_a_file_that_is_not_toml(tmp_path: Path) -> None:
    main = write(tmp_path / "ea.toml", "[api\nport = \n")
    with pytest.raises(ConfigError, match="cannot be read as TOML"):
        load_settings({"EA_CONFIG": str(main)})


def test_it_reports_a_missing_config_file_named_by_ea_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        load_settings({"EA_CONFIG": str(tmp_path / "missing.toml")})


def test_it_reads_secrets_from_credentials_then_file_then_environment(tmp_path: Path) -> None:
    config = write(tmp_path / "ea.toml", "")
    creds = write(tmp_path / "creds" / "openrouter_api_key", "from-credentials\n")
    key_file = write(tmp_path / "key", "from-file\n")
    env = {
        "EA_CONFIG": str(config),
        "EA_OPENROUTER_API_KEY": "from-env",
        "EA_OPENROUTER_API_KEY_FILE": str(key_file),
    }
    assert load_settings(env).secret("openrouter_api_key") == "from-file"
    env["CREDENTIALS_DIRECTORY"] = str(creds.parent)
    assert load_settings(env).secret("openrouter_api_key") == "from-credentials"
    del env["CREDENTIALS_DIRECTORY"], env["EA_OPENROUTER_API_KEY_FILE"]
    assert load_settings(env).secret("openrouter_api_key") == "from-env"
    assert load_settings({"EA_CONFIG": str(config)}).secret("openrouter_api_key") is None


def test_it_never_shows_secrets_or_the_environment_in_a_dump(tmp_path: Path) -> None:
    config = write(tmp_path / "ea.toml", "")
    settings = load_settings({"EA_CONFIG": str(config), "EA_OPENROUTER_API_KEY": "sk-secret"})
    assert "sk-secret" not in settings.model_dump_json()
    assert "sk-secret" not in repr(settings)


def test_every_setting_is_documented_in_the_configuration_reference() -> None:
    reference = REFERENCE.read_text(encoding="utf-8")
    missing = [
        f"{name} ({env})"
        for name, env, _ in iter_settings()
        if f"`{name}`" not in reference or f"`{env}`" not in reference
    ]
    assert not missing, f"undocumented settings: {missing}"


def test_every_pattern_a_setting_must_match_is_told_in_plain_words(tmp_path: Path) -> None:
    from editorial_assistant.config.base import ALLOWED

    patterns = {
        name: meta.pattern
        for name, _, field in iter_settings()
        for meta in field.metadata
        if getattr(meta, "pattern", None)
    }
    assert patterns and {n: p for n, p in patterns.items() if p not in ALLOWED} == {}
    from tests.conftest import make_settings

    with pytest.raises(ConfigError) as refused:
        make_settings(tmp_path, EA_ALERTS_WEBHOOK_URL="ftp://tickets")
    said = str(refused.value).splitlines()[-1]
    assert (
        said
        == "  alerts.webhook_url = 'ftp://tickets': must be an http:// or https:// URL, or empty"
    )
