"""A month of synthetic LLM calls written with SQL, and the report's figures worked out by hand.

October 2026: four jobs make fifteen calls; one call falls a millisecond before the month and
one at the first instant of November, so neither counts. One call failed (no model used, no
cost). One model name is hostile: it would run as a formula in a spreadsheet and breaks a
Markdown table unless escaped. The budget is $1.00 (the month goes over it) and the hosting
figures are set, with the VPS as the current option.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

HOSTILE = "=cmd|' /C calc'!A0"
GEMINI = "google/gemini-2.5-flash"
OPUS = "anthropic/claude-opus-4"
SONNET = "anthropic/claude-sonnet-4"

SETTINGS_ENV = {
    "EA_BUDGET_MONTHLY_USD": "1.00",
    "EA_HOSTING_HOME_VM_USD": "8",
    "EA_HOSTING_STATION_VM_USD": "0",
    "EA_HOSTING_CLOUD_VM_USD": "41.5",
    "EA_HOSTING_VPS_USD": "12.99",
    "EA_HOSTING_CURRENT": "vps",
}

# job id: (Media ID, programme seconds)
JOBS = {
    1: ("2WLI1209HD", 1800),
    2: ("9UNP1972HD", 3480),
    3: ("6GWQ2402", 720),
    4: ("2WLI1101HD", 1560),
    5: ("2WLI1209HD", 1800),
}
# (created_at, job, phase, tier, model requested, model used, prompt, completion, cost)
CALLS = [
    ("2026-09-30T23:59:59.999+00:00", 4, "analyst", 0, GEMINI, GEMINI, 3000, 700, 0.5),
    ("2026-10-01T00:00:00.000+00:00", 4, "formatter", 0, GEMINI, GEMINI, 4000, 3500, 0.0125),
    ("2026-10-03T09:00:00.000+00:00", 1, "analyst", 0, GEMINI, GEMINI, 2000, 400, 0.01),
    ("2026-10-03T09:05:00.000+00:00", 1, "formatter", 0, GEMINI, GEMINI, 6000, 5000, 0.03),
    ("2026-10-03T09:10:00.000+00:00", 1, "seo", 0, GEMINI, GEMINI, 1500, 300, 0.005),
    ("2026-10-03T09:12:00.000+00:00", 1, "manager", 2, OPUS, OPUS, 8000, 1200, 0.21),
    ("2026-10-14T15:00:00.000+00:00", 2, "analyst", 2, OPUS, OPUS, 9000, 1500, 0.24),
    ("2026-10-14T15:04:00.000+00:00", 2, "formatter", 2, OPUS, SONNET, 12000, 9000, 0.171),
    ("2026-10-14T15:20:00.000+00:00", 2, "seo", 2, OPUS, OPUS, 3000, 500, 0.0825),
    ("2026-10-14T15:25:00.000+00:00", 2, "manager", 2, OPUS, OPUS, 10000, 1500, 0.2625),
    ("2026-10-15T08:00:00.000+00:00", 2, "timestamp", 2, OPUS, None, 0, 0, 0.0),
    ("2026-10-20T11:00:00.000+00:00", 3, "analyst", 0, GEMINI, GEMINI, 800, 200, 0.002),
    ("2026-10-20T11:01:00.000+00:00", 3, "formatter", 0, GEMINI, HOSTILE, 2500, 2000, 0.004),
    ("2026-10-20T11:03:00.000+00:00", 3, "seo", 0, GEMINI, GEMINI, 700, 150, 0.0015),
    ("2026-10-20T11:04:00.000+00:00", 3, "manager", 1, SONNET, SONNET, 3000, 600, 0.0175),
    ("2026-10-31T23:59:59.999+00:00", 4, "manager", 1, SONNET, SONNET, 5000, 800, 0.0275),
    ("2026-11-01T00:00:00.000+00:00", 5, "analyst", 0, GEMINI, GEMINI, 2000, 400, 0.9),
]


def write_month(database: Path) -> None:
    """The transcripts, jobs and calls above, straight into a migrated database."""
    with sqlite3.connect(database) as conn:
        for job_id, (media_id, seconds) in JOBS.items():
            conn.execute(
                "INSERT INTO transcripts (id, media_id, original_filename, stored_path, sha256, "
                "size_bytes, format, encoding, word_count, duration_seconds, created_at) "
                "VALUES (?, ?, ?, ?, ?, 100, 'srt', 'utf-8', 1000, ?, '2026-09-01T00:00:00Z')",
                (job_id, media_id, f"{media_id}.srt", f"t/{job_id}.srt", "0" * 64, seconds),
            )
            conn.execute(
                "INSERT INTO jobs (id, transcript_id, media_id, status, created_at, updated_at) "
                "VALUES (?, ?, ?, 'completed', '2026-09-01T00:00:00Z', '2026-09-01T00:00:00Z')",
                (job_id, job_id, media_id),
            )
        for at, job, phase, tier, asked, used, prompt, completion, cost in CALLS:
            conn.execute(
                "INSERT INTO llm_calls (job_id, phase, tier, model_requested, model_used, "
                "prompt_tokens, completion_tokens, cost_usd, outcome, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job,
                    phase,
                    tier,
                    asked,
                    used,
                    prompt,
                    completion,
                    cost,
                    "ok" if used else "error",
                    at,
                ),
            )


def usage(
    name: str, calls: int, jobs: int, prompt: int, completion: int, cost: float
) -> dict[str, object]:
    return {
        "name": name,
        "calls": calls,
        "jobs": jobs,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cost_usd": cost,
    }


# Worked out by hand from CALLS (October only).
TOTALS = {
    "calls": 15,
    "jobs": 4,
    "prompt_tokens": 67500,
    "completion_tokens": 26650,
    "cost_usd": 1.076,
    "programme_minutes": 126.0,  # 30 + 58 + 12 + 26
}
# Per job: 0.025 (3), 0.04 (4), 0.255 (1), 0.756 (2). Median: (0.04 + 0.255) / 2.
# p90: position 0.9 x 3 = 2.7, so 0.255 + 0.7 x (0.756 - 0.255).
PER_JOB = {"jobs": 4, "median_usd": 0.1475, "p90_usd": 0.6057, "mean_usd": 0.269, "max_usd": 0.756}
PER_MINUTE = 0.00854  # 1.076 / 126 = 0.0085397
PROJECTION = {
    "basis": "actual",
    "projected_usd": 1.076,
    "days_elapsed": 31,
    "days_in_month": 31,
    "daily_run_rate_usd": 0.03471,  # 1.076 / 31
    "budget_usd": 1.0,
    "over_budget": True,
}
BUSY_DAYS = [
    usage("2026-10-01", 1, 1, 4000, 3500, 0.0125),
    usage("2026-10-03", 4, 1, 17500, 6900, 0.255),
    usage("2026-10-14", 4, 1, 34000, 12500, 0.756),
    usage("2026-10-15", 1, 1, 0, 0, 0.0),
    usage("2026-10-20", 4, 1, 7000, 2950, 0.025),
    usage("2026-10-31", 1, 1, 5000, 800, 0.0275),
]
BY_PHASE = [  # most expensive first
    usage("manager", 4, 4, 26000, 4100, 0.5175),
    usage("analyst", 3, 3, 11800, 2100, 0.252),
    usage("formatter", 4, 4, 24500, 19500, 0.2175),
    usage("seo", 3, 3, 5200, 950, 0.089),
    usage("timestamp", 1, 1, 0, 0, 0.0),
]
BY_MODEL = [  # the model that answered, else the one asked
    usage(OPUS, 5, 2, 30000, 4700, 0.795),
    usage(SONNET, 3, 3, 20000, 10400, 0.216),
    usage(GEMINI, 6, 3, 15000, 9550, 0.061),
    usage(HOSTILE, 1, 1, 2500, 2000, 0.004),
]
BY_TIER = [
    {**usage("0 (cheap)", 7, 3, 17500, 11550, 0.065), "tier": 0},
    {**usage("1 (default)", 2, 2, 8000, 1400, 0.045), "tier": 1},
    {**usage("2 (strong)", 6, 2, 42000, 13700, 0.966), "tier": 2},
]
TOP_JOBS = [
    {
        "job_id": 2,
        "media_id": "9UNP1972HD",
        "programme_minutes": 58.0,
        "calls": 5,
        "cost_usd": 0.756,
    },
    {
        "job_id": 1,
        "media_id": "2WLI1209HD",
        "programme_minutes": 30.0,
        "calls": 4,
        "cost_usd": 0.255,
    },
    {
        "job_id": 4,
        "media_id": "2WLI1101HD",
        "programme_minutes": 26.0,
        "calls": 2,
        "cost_usd": 0.04,
    },
    {"job_id": 3, "media_id": "6GWQ2402", "programme_minutes": 12.0, "calls": 4, "cost_usd": 0.025},
]
HOSTING = [
    {
        "option": "home_vm",
        "name": "home VM",
        "current": False,
        "hosting_usd": 8.0,
        "llm_usd": 1.076,
        "total_usd": 9.076,
    },
    {
        "option": "station_vm",
        "name": "station VM",
        "current": False,
        "hosting_usd": 0.0,
        "llm_usd": 1.076,
        "total_usd": 1.076,
    },
    {
        "option": "cloud_vm",
        "name": "cloud VM",
        "current": False,
        "hosting_usd": 41.5,
        "llm_usd": 1.076,
        "total_usd": 42.576,
    },
    {
        "option": "vps",
        "name": "VPS",
        "current": True,
        "hosting_usd": 12.99,
        "llm_usd": 1.076,
        "total_usd": 14.066,
    },
]
