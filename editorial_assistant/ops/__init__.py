"""Operational endpoints and helpers: health, readiness, versions."""
