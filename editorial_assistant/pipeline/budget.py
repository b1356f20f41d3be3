"""Spending limits, checked before every LLM call: the per-job cap and the monthly budget.

The estimate is an upper bound: the prompt's length in tokens (generously counted as one token
per three characters) at the model's prompt price, plus the call's maximum output at its
completion price. Spending so far is read from the ``llm_calls`` table, so every process sees
the same figure and nothing is kept in memory.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from editorial_assistant.db import timestamp
from editorial_assistant.errors import AppError
from editorial_assistant.llm.prices import Price

CHARS_PER_TOKEN = 3


class BudgetExceeded(AppError):
    """The next call could break a spending limit, so it is not made."""

    status = 409
    code = "budget"
    hint = "Raise budget.job_cap_usd or budget.monthly_usd, or retry at a cheaper tier."


def estimate_cost(
    messages: tuple[dict[str, str], ...], max_output_tokens: int, price: Price
) -> float:
    """An upper bound for one call's cost, in USD."""
    characters = sum(len(message.get("content", "")) for message in messages)
    prompt_tokens = characters // CHARS_PER_TOKEN + 16 * len(messages)
    return prompt_tokens * price.prompt + max_output_tokens * price.completion


def month_start(now: datetime) -> datetime:
    """Midnight UTC on the first of ``now``'s month."""
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_spent(conn: sqlite3.Connection, *, now: datetime) -> float:
    """What all calls have cost this calendar month (UTC)."""
    row = conn.execute(
        "SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE created_at >= ?",
        (timestamp(month_start(now)),),
    ).fetchone()
    return float(row[0])


def check_budget(
    conn: sqlite3.Connection,
    *,
    job_id: int,
    model: str,
    estimate: float,
    job_cap: float,
    monthly: float,
    now: datetime,
) -> None:
    """Raise ``BudgetExceeded`` if a call costing up to ``estimate`` could break a limit."""
    spent = float(conn.execute("SELECT cost_usd FROM jobs WHERE id = ?", (job_id,)).fetchone()[0])
    if spent + estimate > job_cap:
        raise BudgetExceeded(
            f"budget: the next call on {model} could cost up to ${estimate:.4f}, and job "
            f"{job_id} has spent ${spent:.4f} of its ${job_cap:.2f} cap.",
            details={
                "scope": "job",
                "spent_usd": spent,
                "estimate_usd": estimate,
                "cap_usd": job_cap,
            },
        )
    this_month = month_spent(conn, now=now)
    if this_month + estimate > monthly:
        raise BudgetExceeded(
            f"budget: the next call on {model} could cost up to ${estimate:.4f}, and "
            f"${this_month:.2f} of this month's ${monthly:.2f} budget is spent.",
            details={
                "scope": "month",
                "spent_usd": this_month,
                "estimate_usd": estimate,
                "cap_usd": monthly,
            },
        )
