"""The listing benchmark's baseline: the least FastAPI app that serves the same 20 job rows.

One sync endpoint at the product's path, one sqlite3 connection per thread to the product's
database file (``BENCH_DATABASE``), the same SELECT as ``jobs.service.list_jobs`` minus the
count, the rows serialized with ``json.dumps`` into a ``Response``. Returning the dicts instead
would send them through FastAPI's ``jsonable_encoder``, which is slower than the product's
pydantic-core serialization and would make a poor floor. ``listing.py`` serves this app with the
same gunicorn and ``uvicorn_worker.UvicornWorker`` settings as the product.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading

from fastapi import FastAPI, Response

DATABASE = os.environ["BENCH_DATABASE"]
# Kept identical to editorial_assistant.jobs.service.LIST_COLUMNS so both return the same rows.
COLUMNS = (
    "j.id, j.media_id, j.status, j.priority, j.attempts, j.cost_usd, j.error, "
    "j.pause_reason, j.created_at, j.started_at, j.finished_at, j.updated_at, "
    "t.original_filename AS filename"
)
QUERY = (
    f"SELECT {COLUMNS} FROM jobs j JOIN transcripts t ON t.id = j.transcript_id "
    "ORDER BY j.id DESC LIMIT ?"
)

app = FastAPI()
_local = threading.local()


def _conn() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = sqlite3.connect(DATABASE, check_same_thread=False)
        conn.row_factory = sqlite3.Row
    return conn


@app.get("/api/jobs")
def jobs(limit: int = 20) -> Response:
    """The newest ``limit`` jobs with their file names."""
    rows = [dict(row) for row in _conn().execute(QUERY, (limit,))]
    return Response(json.dumps({"jobs": rows}), media_type="application/json")
