"""Starting the HTTP API under gunicorn, alone or together with a worker (``serve``).

gunicorn runs the maintained ``uvicorn_worker.UvicornWorker`` class; each gunicorn worker builds
its own app after the fork, so no SQLite connection crosses a fork. The master serves
``/metrics`` on its own loopback listener (``monitoring.exporter``), adding up what every worker
counted. ``serve`` starts the job worker as a child process and stops it when the API stops
(Ctrl-C reaches both).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger

from editorial_assistant.config import Settings
from editorial_assistant.db import Database, check_schema
from editorial_assistant.logs import route_to_service_log
from editorial_assistant.monitoring.exporter import (
    MetricsListener,
    prepare_multiprocess,
    worker_exited,
)
from editorial_assistant.ops import probe
from editorial_assistant.ops.systemd import ping_interval, start_pinger


class _Logger(GunicornLogger):
    """gunicorn's error log (and uvicorn's, which copies its handlers) through our handler,
    so journald gets one entry per message, with its priority, tracebacks included."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        route_to_service_log(self.error_log)


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings, self.options = settings, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from editorial_assistant.app import create_app

        return create_app(self.settings)


def gunicorn_options(
    settings: Settings,
    endpoint: probe.Endpoint,
    *,
    workers: int | None,
    metrics: MetricsListener,
) -> dict[str, Any]:
    """gunicorn's settings for this service."""
    return {
        "bind": [endpoint.bind],
        "workers": workers or settings.api.workers,
        "worker_class": "uvicorn_worker.UvicornWorker",
        "graceful_timeout": settings.api.graceful_timeout_seconds,
        "timeout": 60,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log.level.lower(),
        "proc_name": "editorial-assistant-api",
        "logger_class": _Logger,
        # gunicorn 27's control socket would live in $HOME; the units give it no such place.
        "control_socket_disable": True,
        # Proxy headers are read by web.hygiene alone (it prefers Cf-Connecting-Ip and checks
        # that it is an address); uvicorn would otherwise rewrite the client from X-Forwarded-For.
        "forwarded_allow_ips": "",
        # systemd's RuntimeDirectory= is a tmpfs: the right place for worker heartbeats.
        "worker_tmp_dir": os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0] or None,
        "umask": 0o007,  # the socket is for our group (cloudflared), not for every local user
        "when_ready": lambda server: _when_ready(endpoint, metrics),
        "on_exit": lambda server: metrics.stop(),
        "child_exit": worker_exited(metrics.folder),
    }


def _when_ready(endpoint: probe.Endpoint, metrics: MetricsListener) -> None:
    """Once gunicorn listens, before its workers fork: the watchdog and ``/metrics``."""
    _watch(endpoint)
    metrics.start()


def _watch(endpoint: probe.Endpoint) -> None:
    """Under systemd's watchdog, ping only while a real request gets a real answer.

    The probe goes through the listening socket to whichever worker accepts it, so a stuck or
    stopped worker pool stops the pings and systemd restarts the service. gunicorn itself sends
    READY=1 when its socket is bound; ``ExecStartPost`` then waits for ``/readyz``.
    """
    start_pinger(
        lambda: probe.check(endpoint, "/healthz", timeout=_probe_timeout()),
        status_ok=f"serving on {endpoint}",
    )


def _probe_timeout() -> float:
    """A probe must answer within one ping interval (at most 5 s) to count."""
    return min(5.0, ping_interval())


def run_api(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    uds: Path | None = None,
    workers: int | None = None,
) -> None:
    """Serve the API until stopped; refuse to start against a wrong schema."""
    database = Database(settings.database_path)
    check_schema(database.conn())
    database.close()
    endpoint = probe.Endpoint.of(settings, host=host, port=port, uds=uds)
    metrics = MetricsListener(settings, folder=prepare_multiprocess(settings))
    options = gunicorn_options(settings, endpoint, workers=workers, metrics=metrics)
    _Gunicorn(settings, options).run()


def run_together(
    settings: Settings,
    *,
    host: str | None,
    port: int | None,
    uds: Path | None,
    workers: int | None,
    config: Path | None,
) -> None:
    """Run a worker child and the API; stop the worker gracefully when the API exits."""
    command = [sys.executable, "-m", "editorial_assistant"]
    command += ["--config", str(config)] if config else []
    child = subprocess.Popen([*command, "worker"])
    where = probe.Endpoint.of(settings, host=host, port=port, uds=uds)
    print(
        f"Editorial Assistant is starting on {where} (data in {settings.data_dir})",
        file=sys.stderr,
        flush=True,
    )
    try:
        run_api(settings, host=host, port=port, uds=uds, workers=workers)
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
