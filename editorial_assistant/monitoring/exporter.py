"""Serving ``/metrics`` from the API's master process, on its own loopback listener.

The listener is a small threaded HTTP server bound to ``metrics.listen`` (loopback only, checked
in ``config/operations.py``), never the API's socket: cloudflared reaches the API, and since it
connects from loopback itself, being local is no proof that a request did not come through the
tunnel. gunicorn's workers count requests in prometheus-client's multiprocess mode: each writes
its values to memory-mapped files in one folder, which ``prepare_multiprocess`` empties at
start, before the workers fork; a scrape adds up every file. When a worker exits, gunicorn's
``child_exit`` hook drops its live gauges (``worker_exited``); its counters stay counted."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from editorial_assistant.config import Settings

log = logging.getLogger(__name__)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir(settings: Settings) -> Path:
    """The workers' metric files: in the unit's runtime folder (a tmpfs that systemd empties at
    each start), else in the data folder."""
    runtime = settings.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    return Path(runtime) / "metrics" if runtime else settings.data_dir / "run" / "metrics"


def prepare_multiprocess(settings: Settings) -> Path:
    """Empty the metrics folder and point prometheus-client at it, for this process and the
    workers it will fork. Call it before gunicorn starts."""
    folder = multiprocess_dir(settings)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    os.environ[MULTIPROC_ENV] = str(folder)
    if "prometheus_client.values" in sys.modules:
        # prometheus-client picks in-memory or file-backed values once, when first imported;
        # if something imported it before the variable was set, choose again.
        from prometheus_client import values

        values.ValueClass = values.get_value_class()
    return folder


def worker_exited(folder: Path) -> Callable[[Any, Any], None]:
    """gunicorn's ``child_exit`` hook: forget the exited worker's live gauges."""

    def hook(_server: Any, worker: Any) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, str(folder))

    return hook


class MetricsListener:
    """``GET /metrics`` on ``metrics.listen``, in a thread; anything else is a 404."""

    def __init__(self, settings: Settings, *, folder: Path) -> None:
        self.settings, self.folder = settings, folder
        self._server: WSGIServer | None = None

    def start(self) -> bool:
        """Bind and serve; on failure log why and go on (the API matters more than metrics)."""
        address = self.settings.metrics.address
        if address is None:
            return False
        try:
            self._server = _bind(address, self._app())
        except OSError as exc:
            log.error("metrics: cannot listen on %s (%s); /metrics is not served", address, exc)
            return False
        threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True).start()
        log.info("metrics: serving /metrics on %s", self.settings.metrics.listen)
        return True

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _app(self) -> Callable[..., Iterable[bytes]]:
        from prometheus_client import make_wsgi_app

        from editorial_assistant.monitoring.metrics import scrape_registry

        metrics = make_wsgi_app(scrape_registry(self.settings, multiprocess_dir=self.folder))

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == "/metrics":
                return metrics(environ, start_response)
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"Only /metrics is served here.\n"]

        return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would flood the journal."""


def _bind(address: tuple[str, int], app: Callable[..., Iterable[bytes]]) -> WSGIServer:
    host, port = address
    server_class = _Server6 if ":" in host else _Server
    return make_server(host, port, app, server_class=server_class, handler_class=_QuietHandler)
