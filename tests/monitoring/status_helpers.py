"""What the status and doctor tests share: a tiny HTTP server on 127.0.0.1 that answers like
our ``/readyz`` and cloudflared's ``/ready``, jobs written with SQL, and the CLI as run."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from editorial_assistant.cli import cli
from editorial_assistant.config import Settings
from editorial_assistant.db import connect, timestamp


class _Ready(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        known = self.path in ("/readyz", "/ready")
        body = json.dumps({"status": "ready"} if known else {"message": "no such page"}).encode()
        self.send_response(200 if known else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def ready_server() -> Iterator[int]:
    """A server on 127.0.0.1 answering ``/readyz`` and ``/ready`` with 200; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ready)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def add_job(settings: Settings, *, status: str, queued_at: datetime, cost: float = 0.0) -> int:
    """A transcript and a job in ``status`` queued at ``queued_at``; ``cost`` as one LLM call."""
    conn = connect(settings.database_path)
    stamp = timestamp(queued_at)
    try:
        transcript = conn.execute(
            "INSERT INTO transcripts (media_id, original_filename, stored_path, sha256, "
            "size_bytes, format, encoding, word_count, duration_seconds, created_at) "
            "VALUES ('2WLI1203HD', 'a.srt', 'a.srt', 'x', 1, 'srt', 'utf-8', 1, 1, ?)",
            (stamp,),
        ).lastrowid
        job = conn.execute(
            "INSERT INTO jobs (transcript_id, media_id, status, created_at, queued_at, "
            "heartbeat_at, updated_at) VALUES (?, '2WLI1203HD', ?, ?, ?, ?, ?)",
            (transcript, status, stamp, stamp, stamp, stamp),
        ).lastrowid
        if cost:
            conn.execute(
                "INSERT INTO llm_calls (job_id, phase, tier, model_requested, model_used, "
                "cost_usd, outcome, created_at) VALUES (?, 'analyst', 0, 'm', 'm', ?, 'ok', ?)",
                (job, cost, stamp),
            )
    finally:
        conn.close()
    return int(job or 0)


def run(settings: Settings, *args: str) -> Result:
    """``editorial-assistant args`` as an operator runs it."""
    return CliRunner().invoke(cli, list(args), env=settings.environ, obj={"config": None})


def components(result: Result) -> dict[str, dict[str, Any]]:
    """The components of a ``--json`` answer, by name."""
    return {item["name"]: item for item in json.loads(result.output)["components"]}


def tunnel_set_up(tmp_path: Path) -> dict[str, str]:
    """A cloudflared configuration with a credential beside it; the settings that name it."""
    folder = tmp_path / "etc"
    (folder / "cloudflared").mkdir(parents=True)
    (folder / "cloudflared.yml").write_text("tunnel: x\n", encoding="utf-8")
    (folder / "cloudflared" / "x.json").write_text("{}", encoding="utf-8")
    return {"EA_STATUS_CLOUDFLARED_CONFIG": str(folder / "cloudflared.yml")}
