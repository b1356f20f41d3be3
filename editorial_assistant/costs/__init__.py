"""LLM spending: month to date against the budget, and monthly cost reports (by day, phase,
model and tier, per job and per programme minute, projected, with the hosting comparison)."""
