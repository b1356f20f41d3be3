"""Request metrics counted by the API's workers, and the registry a scrape of ``/metrics`` reads.

``RequestMetricsMiddleware`` counts every HTTP request by method, route template (never the
raw path, so an ID in a URL cannot grow the label set; a path no route matches is one label)
and status. Under gunicorn prometheus-client runs in multiprocess mode: each worker writes its
values to memory-mapped files in one folder (``exporter.prepare_multiprocess``) and a scrape,
in the master, adds up every worker's files. What lives in the database, the disk and the
memory is not counted here at all: ``collectors.py`` and ``resources.py`` read it when scraped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from editorial_assistant import __version__
from editorial_assistant.config import Settings
from editorial_assistant.db import utcnow

PREFIX = "editorial_assistant_"
UNMATCHED = "(unmatched)"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# 5 s, the API p95 alert's threshold, is a bucket boundary.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class RequestMetrics:
    """One app's request counters, registered in their own registry (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            f"{PREFIX}http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            f"{PREFIX}http_request_duration_seconds",
            "Time from a request's arrival to its last byte, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            f"{PREFIX}http_requests_in_progress",
            "Requests being answered now, across the workers alive.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        method = method if method in METHODS else "other"
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)


class RequestMetricsMiddleware:
    """Counts each HTTP request once it is answered (an unanswered one as a 500)."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app, self.metrics = app, metrics
        self._routes: list[tuple[BaseRoute, str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status, began = 500, time.monotonic()

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.metrics.in_progress.dec()
            seconds = time.monotonic() - began
            route = self.route_template(scope)
            self.metrics.observe(
                method=scope["method"], route=route, status=status, seconds=seconds
            )

    def route_template(self, scope: Scope) -> str:
        """The matched route's path template (``/api/jobs/{job_id}``), or ``(unmatched)``.

        A request refused before routing (a body over the limit) is matched here, so it is
        still counted against its route.
        """
        route = scope.get("route")
        if route is not None:
            return str(getattr(route, "path_format", UNMATCHED))
        if self._routes is None:
            self._routes = flat_routes(scope.get("app"))
        full = (path for route, path in self._routes if route.matches(scope)[0] is Match.FULL)
        return next(full, UNMATCHED)


def flat_routes(app: object) -> list[tuple[BaseRoute, str]]:
    """Each of the app's routes with its full path template, through included routers."""
    routes = getattr(app, "routes", [])
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI < 0.137.2 copied included routes into app.routes
        return [(route, getattr(route, "path_format", UNMATCHED)) for route in routes]
    return [(c.original_route, c.path_format or UNMATCHED) for c in iter_route_contexts(routes)]


def scrape_registry(
    settings: Settings,
    *,
    multiprocess_dir: Path | None = None,
    local: CollectorRegistry | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> CollectorRegistry:
    """Everything ``/metrics`` shows: the workers' counts (from ``multiprocess_dir``, or one
    app's ``local`` registry in tests), the database, disk and memory, and the version."""
    from editorial_assistant.monitoring.collectors import DatabaseCollector
    from editorial_assistant.monitoring.resources import ResourceCollector

    registry = CollectorRegistry()
    if multiprocess_dir is not None:
        MultiProcessCollector(registry, path=str(multiprocess_dir))
    if local is not None:
        registry.register(local)
    registry.register(DatabaseCollector(settings, clock=clock))
    registry.register(ResourceCollector(settings))
    registry.register(_BuildInfo())
    return registry


class _BuildInfo:
    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            f"{PREFIX}build_info", "Always 1; the running version.", labels=["version"]
        )
        info.add_metric([__version__], 1)
        yield info
