"""What every settings section is made of: the base model and the ``setting`` field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)
from pydantic.config import JsonDict

DEFAULT_CONFIG_FILE = Path("/etc/editorial-assistant/editorial-assistant.toml")
# "10/minute", "600/hour", "5/second", "30/day" or "20/15s".
RATE_PATTERN = r"^[1-9][0-9]{0,6}/([1-9][0-9]{0,5}s|second|minute|hour|day)$"
URL_PATTERN = r"^https?://[^\s]+$"
OPTIONAL_URL_PATTERN = r"^(https?://\S+)?$"
ORIGIN_PATTERN = r"^(https?://[A-Za-z0-9.:\[\]-]+)?$"
EMAIL_PATTERN = r"^([^@,\s]+@[^@,\s]+)?$"
EMAILS_PATTERN = r"^([^@,\s]+@[^@,\s]+(\s*,\s*[^@,\s]+@[^@,\s]+)*)?$"
# What each pattern allows, in the words a refused value is told (``loading._describe``).
ALLOWED = {
    RATE_PATTERN: "a count per period such as 10/minute "
    "(N/second, N/minute, N/hour, N/day or N/<seconds>s)",
    URL_PATTERN: "an http:// or https:// URL",
    OPTIONAL_URL_PATTERN: "an http:// or https:// URL, or empty",
    ORIGIN_PATTERN: "a scheme and host such as https://editorial.example.org (no path), or empty",
    EMAIL_PATTERN: "one e-mail address such as it@station.example, or empty",
    EMAILS_PATTERN: "e-mail addresses separated by commas, such as it@station.example, "
    "oncall@station.example; or empty",
}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def setting(default: Any, description: str, *, env: str | None = None, **kw: Any) -> Any:
    """A documented setting; ``env`` overrides the derived environment variable name."""
    extra: JsonDict | None = {"env": env} if env else None
    return Field(default, description=description, json_schema_extra=extra, **kw)
