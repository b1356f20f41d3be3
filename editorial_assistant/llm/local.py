"""The built-in local backend: rule-based drafts with no network and no API key.

``LocalLLMClient`` implements the ``LLMClient`` protocol so a fresh install runs the whole
pipeline end to end. It ignores the chat messages and drafts from the parsed transcript in the
request's ``PhaseContext``, deterministically; every result says ``model: local`` and costs
nothing. Token counts are word counts (words in, words out).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from editorial_assistant.llm.client import LLMError, LLMRequest, LLMResult, PhaseContext
from editorial_assistant.llm.local_analyst import draft_brainstorming
from editorial_assistant.llm.local_chapters import draft_chapters
from editorial_assistant.llm.local_formatter import draft_formatted
from editorial_assistant.llm.local_manager import draft_review
from editorial_assistant.llm.local_seo import draft_seo

LOCAL_MODEL = "local"

DRAFTERS: dict[str, Callable[[PhaseContext], str]] = {
    "analyst": draft_brainstorming,
    "formatter": draft_formatted,
    "seo": draft_seo,
    "manager": draft_review,
    "timestamp": draft_chapters,
}


class LocalLLMClient:
    """Rule-based drafts for every phase, computed in process."""

    name = LOCAL_MODEL

    def complete(self, request: LLMRequest) -> LLMResult:
        """Draft the requested phase's Markdown body from the request's context."""
        started = time.perf_counter()
        drafter = DRAFTERS.get(request.phase)
        if drafter is None:
            raise LLMError(
                f"The local backend has no phase called {request.phase!r}.",
                transient=False,
                hint=f"Use one of: {', '.join(DRAFTERS)}.",
            )
        text = drafter(request.context)
        return LLMResult(
            text=text,
            model=LOCAL_MODEL,
            prompt_tokens=words_in(request.context),
            completion_tokens=len(text.split()),
            cost_usd=0.0,
            latency_seconds=time.perf_counter() - started,
        )


def words_in(context: PhaseContext) -> int:
    """The words a phase reads: its cues (or the whole transcript) and the earlier drafts."""
    cues = context.cues or context.transcript.cues
    spoken = sum(cue.word_count for cue in cues)
    return spoken + sum(len(body.split()) for body in context.previous.values())
