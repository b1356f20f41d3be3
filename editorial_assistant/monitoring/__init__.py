"""Watching the service: metrics for Prometheus, alerts, status and the monitor."""
