"""LLM spending: month to date against the budget, by phase, model and day, and a projection."""
