"""The provenance header every output starts with, and how to read it back off."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from editorial_assistant.db import timestamp
from editorial_assistant.pipeline.phases import TIER_NAMES


def with_header(
    body: str,
    *,
    media_id: str,
    job_id: int,
    phase: str,
    model: str,
    tier: int,
    prompt_tokens: int,
    completion_tokens: int,
    cost_usd: float,
    now: datetime,
    prompt: str | None = None,
) -> str:
    """Prefix a Markdown body with its provenance as front matter."""
    fields: dict[str, Any] = {
        "media_id": media_id,
        "job_id": job_id,
        "phase": phase,
        "model": model,
        "tier": f"{tier} ({TIER_NAMES[tier]})",
        "prompt": prompt or "none (rule-based local backend)",
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost_usd": f"{cost_usd:.6f}",
        "generated_at": timestamp(now),
    }
    lines = [f"{key}: {value}" for key, value in fields.items()]
    return "---\n" + "\n".join(lines) + "\n---\n\n" + body.strip() + "\n"


def strip_header(text: str) -> str:
    """The Markdown body without its front matter."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            return text[end + 5 :].lstrip("\n")
    return text
