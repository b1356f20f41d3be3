"""Choosing the LLM backend named in the settings."""

from __future__ import annotations

import time

from editorial_assistant.config import Settings
from editorial_assistant.errors import ConfigError
from editorial_assistant.llm.client import LLMClient, LLMRequest, LLMResult
from editorial_assistant.llm.local import LocalLLMClient


class _Delayed:
    """Adds a fixed latency to every call of another client (demonstrations, load tests)."""

    def __init__(self, inner: LLMClient, delay: float) -> None:
        self.inner, self.delay, self.name = inner, delay, inner.name

    def complete(self, request: LLMRequest) -> LLMResult:
        time.sleep(self.delay)
        return self.inner.complete(request)


def make_llm_client(settings: Settings) -> LLMClient:
    """The configured backend, ready to use."""
    if settings.llm.backend != "local":
        raise ConfigError(
            f"llm.backend = {settings.llm.backend!r} is not available in this version.",
            hint="Use llm.backend = 'local' (the built-in backend needs no key).",
        )
    client: LLMClient = LocalLLMClient()
    delay = settings.llm.local_delay_seconds
    return _Delayed(client, delay) if delay else client
