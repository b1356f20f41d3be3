-- The budget check sums this month's calls before every LLM call; cost reports group by day.

CREATE INDEX llm_calls_created_at ON llm_calls (created_at);
