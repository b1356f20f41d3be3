"""Starting the HTTP API under gunicorn, alone or together with a worker (``serve``).

gunicorn runs the maintained ``uvicorn_worker.UvicornWorker`` class; each gunicorn worker builds
its own app after the fork, so no SQLite connection crosses a fork. ``serve`` starts the job
worker as a child process and stops it when the API stops (Ctrl-C reaches both).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from editorial_assistant.config import Settings
from editorial_assistant.db import Database, check_schema


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
    settings: Settings, *, host: str | None, port: int | None, uds: Path | None, workers: int | None
) -> dict[str, Any]:
    """gunicorn's settings for this service."""
    bind = f"unix:{uds}" if uds else f"{host or settings.api.host}:{port or settings.api.port}"
    return {
        "bind": [bind],
        "workers": workers or settings.api.workers,
        "worker_class": "uvicorn_worker.UvicornWorker",
        "graceful_timeout": settings.api.graceful_timeout_seconds,
        "timeout": 60,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log.level.lower(),
        "proc_name": "editorial-assistant-api",
    }


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
    options = gunicorn_options(settings, host=host, port=port, uds=uds, workers=workers)
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
    where = (
        f"unix:{uds}" if uds else f"http://{host or settings.api.host}:{port or settings.api.port}"
    )
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
