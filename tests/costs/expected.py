"""The October report of ``synthetic`` as Markdown and CSV, written out by hand."""

from __future__ import annotations

MARKDOWN_SECTIONS = [
    "# Editorial Assistant costs: 2026-10\n\n2026-10-01 to 2026-10-31 (UTC). The month is over: "
    "these are its final figures. Generated 2026-11-16 12:00 UTC.",
    """## Summary

| Figure | Value |
| --- | ---: |
| LLM spend | $1.0760 |
| Calls | 15 |
| Jobs | 4 |
| Programme minutes | 126.0 |
| Prompt tokens | 67,500 |
| Completion tokens | 26,650 |
| Cost per job, median | $0.1475 |
| Cost per job, p90 | $0.6057 |
| Cost per programme minute | $0.0085 |
| Projection for the month (actual) | $1.0760 (over budget) |
| Monthly budget | $1.00 |""",
    """## By phase

| Phase | Calls | Jobs | Prompt tokens | Completion tokens | Cost |
| --- | ---: | ---: | ---: | ---: | ---: |
| manager | 4 | 4 | 26,000 | 4,100 | $0.5175 |
| analyst | 3 | 3 | 11,800 | 2,100 | $0.2520 |
| formatter | 4 | 4 | 24,500 | 19,500 | $0.2175 |
| seo | 3 | 3 | 5,200 | 950 | $0.0890 |
| timestamp | 1 | 1 | 0 | 0 | $0.0000 |""",
    """## By model

| Model | Calls | Jobs | Prompt tokens | Completion tokens | Cost |
| --- | ---: | ---: | ---: | ---: | ---: |
| anthropic/claude-opus-4 | 5 | 2 | 30,000 | 4,700 | $0.7950 |
| anthropic/claude-sonnet-4 | 3 | 3 | 20,000 | 10,400 | $0.2160 |
| google/gemini-2.5-flash | 6 | 3 | 15,000 | 9,550 | $0.0610 |
| =cmd\\|' /C calc'!A0 | 1 | 1 | 2,500 | 2,000 | $0.0040 |""",
    """## By tier

| Tier | Calls | Jobs | Prompt tokens | Completion tokens | Cost |
| --- | ---: | ---: | ---: | ---: | ---: |
| 0 (cheap) | 7 | 3 | 17,500 | 11,550 | $0.0650 |
| 1 (default) | 2 | 2 | 8,000 | 1,400 | $0.0450 |
| 2 (strong) | 6 | 2 | 42,000 | 13,700 | $0.9660 |""",
    """## Most expensive jobs

| Job | Media ID | Programme minutes | Calls | Cost |
| ---: | --- | ---: | ---: | ---: |
| 2 | 9UNP1972HD | 58.0 | 5 | $0.7560 |
| 1 | 2WLI1209HD | 30.0 | 4 | $0.2550 |
| 4 | 2WLI1101HD | 26.0 | 2 | $0.0400 |
| 3 | 6GWQ2402 | 12.0 | 4 | $0.0250 |""",
    """## Hosting comparison

Each option's monthly fee (settings `hosting.*`) plus this month's actual LLM spend, which is \
the same wherever the service runs.

| Option | Hosting | LLM | Total |
| --- | ---: | ---: | ---: |
| home VM | $8.00 | $1.08 | $9.08 |
| station VM | $0.00 | $1.08 | $1.08 |
| cloud VM | $41.50 | $1.08 | $42.58 |
| VPS (current) | $12.99 | $1.08 | $14.07 |""",
]
BUSY_DAY_LINES = [
    "| 2026-10-01 | 1 | 1 | 4,000 | 3,500 | $0.0125 |",
    "| 2026-10-03 | 4 | 1 | 17,500 | 6,900 | $0.2550 |",
    "| 2026-10-14 | 4 | 1 | 34,000 | 12,500 | $0.7560 |",
    "| 2026-10-15 | 1 | 1 | 0 | 0 | $0.0000 |",
    "| 2026-10-20 | 4 | 1 | 7,000 | 2,950 | $0.0250 |",
    "| 2026-10-31 | 1 | 1 | 5,000 | 800 | $0.0275 |",
]

CSV_HEADER = (
    "month,section,name,calls,jobs,programme_minutes,prompt_tokens,completion_tokens,cost_usd,"
    "hosting_usd,total_usd,note"
)
CSV_SUMMARY = """\
2026-10,summary,spent,15,4,126,67500,26650,1.076,,,
2026-10,summary,projection,,,,,,1.076,,,actual
2026-10,summary,budget,,,,,,1,,,over
2026-10,summary,cost_per_job_median,,,,,,0.1475,,,
2026-10,summary,cost_per_job_p90,,,,,,0.6057,,,
2026-10,summary,cost_per_programme_minute,,,,,,0.00854,,,"""
CSV_BUSY_DAYS = """\
2026-10,day,2026-10-01,1,1,,4000,3500,0.0125,,,
2026-10,day,2026-10-03,4,1,,17500,6900,0.255,,,
2026-10,day,2026-10-14,4,1,,34000,12500,0.756,,,
2026-10,day,2026-10-15,1,1,,0,0,0,,,
2026-10,day,2026-10-20,4,1,,7000,2950,0.025,,,
2026-10,day,2026-10-31,1,1,,5000,800,0.0275,,,"""
CSV_REST = """\
2026-10,phase,manager,4,4,,26000,4100,0.5175,,,
2026-10,phase,analyst,3,3,,11800,2100,0.252,,,
2026-10,phase,formatter,4,4,,24500,19500,0.2175,,,
2026-10,phase,seo,3,3,,5200,950,0.089,,,
2026-10,phase,timestamp,1,1,,0,0,0,,,
2026-10,model,anthropic/claude-opus-4,5,2,,30000,4700,0.795,,,
2026-10,model,anthropic/claude-sonnet-4,3,3,,20000,10400,0.216,,,
2026-10,model,google/gemini-2.5-flash,6,3,,15000,9550,0.061,,,
2026-10,model,'=cmd|' /C calc'!A0,1,1,,2500,2000,0.004,,,
2026-10,tier,0 (cheap),7,3,,17500,11550,0.065,,,
2026-10,tier,1 (default),2,2,,8000,1400,0.045,,,
2026-10,tier,2 (strong),6,2,,42000,13700,0.966,,,
2026-10,job,job 2,5,1,58,,,0.756,,,9UNP1972HD
2026-10,job,job 1,4,1,30,,,0.255,,,2WLI1209HD
2026-10,job,job 4,2,1,26,,,0.04,,,2WLI1101HD
2026-10,job,job 3,4,1,12,,,0.025,,,6GWQ2402
2026-10,hosting,home VM,,,,,,1.076,8,9.076,
2026-10,hosting,station VM,,,,,,1.076,0,1.076,
2026-10,hosting,cloud VM,,,,,,1.076,41.5,42.576,
2026-10,hosting,VPS,,,,,,1.076,12.99,14.066,current"""
BUSY = {"01", "03", "14", "15", "20", "31"}


def expected_csv() -> str:
    """The whole file: the quiet days are zeros, in order among the busy ones."""
    busy = dict(zip(sorted(BUSY), CSV_BUSY_DAYS.splitlines(), strict=True))
    days = [
        busy.get(f"{day:02d}", f"2026-10,day,2026-10-{day:02d},0,0,,0,0,0,,,")
        for day in range(1, 32)
    ]
    lines = [CSV_HEADER, *CSV_SUMMARY.splitlines(), *days, *CSV_REST.splitlines()]
    return "\r\n".join(lines) + "\r\n"
