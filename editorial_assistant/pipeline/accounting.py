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
from editorial_assistant.llm.client import Attempt


def record_call(
    conn: sqlite3.Connection,
    *,
    job_id: int,
    phase: str,
    tier: int,
    attempt: Attempt,
    now: datetime,
) -> None:
    """Store one call and add its cost and tokens to its job and phase."""
    tokens = (attempt.prompt_tokens, attempt.completion_tokens)
    with transaction(conn):
        conn.execute(
            "INSERT INTO llm_calls (job_id, phase, tier, model_requested, model_used, "
            "prompt_tokens, completion_tokens, cost_usd, latency_seconds, outcome, error, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job_id,
                phase,
                tier,
                attempt.model_requested,
                attempt.model_used,
                *tokens,
                attempt.cost_usd,
                attempt.latency_seconds,
                attempt.outcome,
                attempt.error,
                timestamp(now),
            ),
        )
        conn.execute(
            "UPDATE jobs SET cost_usd = cost_usd + ? WHERE id = ?", (attempt.cost_usd, job_id)
        )
        conn.execute(
            "UPDATE phases SET cost_usd = cost_usd + ?, prompt_tokens = prompt_tokens + ?, "
            "completion_tokens = completion_tokens + ?, model = coalesce(?, model) "
            "WHERE job_id = ? AND name = ?",
            (attempt.cost_usd, *tokens, attempt.model_used, job_id, phase),
        )
