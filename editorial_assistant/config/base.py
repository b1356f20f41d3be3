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


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def setting(default: Any, description: str, *, env: str | None = None, **kw: Any) -> Any:
    """A documented setting; ``env`` overrides the derived environment variable name."""
    extra: JsonDict | None = {"env": env} if env else None
    return Field(default, description=description, json_schema_extra=extra, **kw)
