"""Recording every LLM call against exactly one job and phase.

Each call is one ``llm_calls`` row (tier, model requested and used, tokens, cost, latency,
outcome) and its cost is added to its job and phase in the same transaction. Costs are recorded
whether or not the job still wants the result: money spent is money spent. There is no global
tracker, so concurrent jobs can never share costs.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from editorial_assistant.db import timestamp, transaction
from editorial_assistant.llm.client import LLMResult


def record_call(
    conn: sqlite3.Connection,
    *,
    job_id: int,
    phase: str,
    tier: int,
    model_requested: str,
    result: LLMResult | None,
    outcome: str,
    now: datetime,
    error: str | None = None,
) -> None:
    """Store one call and add its cost and tokens to its job and phase."""
    model = result.model if result else None
    tokens = (result.prompt_tokens, result.completion_tokens) if result else (0, 0)
    cost = result.cost_usd if result else 0.0
    latency = result.latency_seconds if result else 0.0
    with transaction(conn):
        conn.execute(
            "INSERT INTO llm_calls (job_id, phase, tier, model_requested, model_used, "
            "prompt_tokens, completion_tokens, cost_usd, latency_seconds, outcome, error, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job_id,
                phase,
                tier,
                model_requested,
                model,
                *tokens,
                cost,
                latency,
                outcome,
                error,
                timestamp(now),
            ),
        )
        conn.execute("UPDATE jobs SET cost_usd = cost_usd + ? WHERE id = ?", (cost, job_id))
        conn.execute(
            "UPDATE phases SET cost_usd = cost_usd + ?, prompt_tokens = prompt_tokens + ?, "
            "completion_tokens = completion_tokens + ?, model = coalesce(?, model) "
            "WHERE job_id = ? AND name = ?",
            (cost, *tokens, model, job_id, phase),
        )
