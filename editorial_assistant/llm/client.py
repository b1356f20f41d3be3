"""The ``LLMClient`` interface every backend implements, and the request/result shapes.

A phase builds an ``LLMRequest`` (chat messages for remote models plus a ``PhaseContext`` with the
parsed transcript, so the rule-based local backend can work without reading prompts) and gets an
``LLMResult`` back. Backends raise ``LLMError``: ``transient=True`` marks failures worth retrying,
``escalate=False`` failures no other model or tier can fix (a rejected API key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from editorial_assistant.errors import AppError
from editorial_assistant.transcripts.models import Cue, ParsedTranscript


@dataclass(frozen=True)
class CharLimits:
    """Character limits for SEO copy; one config value used by prompts, checks and UI."""

    title: int = 60
    short_description: int = 90
    long_description: int = 350


@dataclass(frozen=True)
class PhaseContext:
    """Everything a phase knows: the transcript, the job, and the outputs written so far."""

    media_id: str
    transcript: ParsedTranscript
    limits: CharLimits
    previous: dict[str, str] = field(default_factory=dict)
    cues: tuple[Cue, ...] = ()
    chunk_index: int = 0
    chunk_count: int = 1


@dataclass(frozen=True)
class Attempt:
    """One HTTP call (or one local run) and what it cost, successful or not."""

    model_requested: str
    model_used: str | None
    outcome: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_seconds: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class LLMRequest:
    """One call: which job and phase it belongs to, the tier, the messages and the context.

    ``guard(model)`` runs before every call a backend makes (retries and fallbacks included) and
    raises to stop it; ``record(attempt)`` receives every call made, so each is accounted for.
    """

    job_id: str
    phase: str
    tier: int
    messages: tuple[dict[str, str], ...]
    context: PhaseContext
    max_output_tokens: int = 4000
    guard: Callable[[str], None] | None = None
    record: Callable[[Attempt], None] | None = None


@dataclass(frozen=True)
class LLMResult:
    """What came back, with the accounting the pipeline stores for every call."""

    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_seconds: float = 0.0


class LLMError(AppError):
    """A failed call; ``transient`` errors (429, 5xx, timeouts) are retried, others are not."""

    status = 502
    code = "llm_error"

    def __init__(
        self,
        message: str,
        *,
        transient: bool = False,
        escalate: bool = True,
        retry_after: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.transient = transient
        self.escalate = escalate
        self.retry_after = retry_after


class LLMClient(Protocol):
    """A backend that turns a request into a result or raises ``LLMError``."""

    name: str

    def complete(self, request: LLMRequest) -> LLMResult:
        """Run one call and return its result."""
        ...
