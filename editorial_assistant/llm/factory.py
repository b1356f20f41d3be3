"""Choosing the LLM backend named in the settings (``auto``: OpenRouter when a key is set)."""

from __future__ import annotations

import time

from editorial_assistant.config import Settings
from editorial_assistant.llm.client import LLMClient, LLMRequest, LLMResult
from editorial_assistant.llm.local import LocalLLMClient
from editorial_assistant.llm.openrouter import OpenRouterClient


class _Delayed:
    """Adds a fixed latency to every call of another client (demonstrations, load tests)."""

    def __init__(self, inner: LLMClient, delay: float) -> None:
        self.inner, self.delay, self.name = inner, delay, inner.name

    def complete(self, request: LLMRequest) -> LLMResult:
        time.sleep(self.delay)
        return self.inner.complete(request)


def backend_name(settings: Settings) -> str:
    """The backend that will run: ``openrouter`` or ``local``."""
    if settings.llm.backend == "auto":
        return "openrouter" if settings.secret("openrouter_api_key") else "local"
    return settings.llm.backend


def make_llm_client(settings: Settings) -> LLMClient:
    """The configured backend, ready to use."""
    llm = settings.llm
    if backend_name(settings) == "openrouter":
        return OpenRouterClient(
            base_url=llm.openrouter_base_url,
            api_key=settings.secret("openrouter_api_key"),
            models=settings.models.for_tier,
            timeout=llm.timeout_seconds,
            max_retries=llm.max_retries,
            backoff=llm.retry_backoff_seconds,
            referer=llm.app_url,
            title=llm.app_title,
        )
    client: LLMClient = LocalLLMClient()
    return _Delayed(client, llm.local_delay_seconds) if llm.local_delay_seconds else client
