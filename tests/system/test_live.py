"""Live updates cross processes: the worker's progress reaches an open event stream of the API."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.conftest import SRT
from tests.system.processes import (
    job_status,
    serve,
    stop,
)

pytestmark = pytest.mark.system
STREAM = {"Accept": "text/event-stream"}


def changes(response: httpx.Response):  # type: ignore[no-untyped-def]
    """The cursors of the ``change`` events of a stream, as they arrive."""
    event: dict[str, str] = {}
    for line in response.iter_lines():
        if line:
            name, _, value = line.partition(": ")
            event[name] = value
            continue
        if event.get("event") == "change":
            assert event["id"] == event["data"]
            yield int(event["data"])
        event = {}


def test_the_worker_s_progress_reaches_an_open_stream(tmp_path: Path) -> None:
    served = serve(tmp_path)
    base, http, server, log = served.base, served.http, served.process, served.log
    try:
        start_cursor = http.get(f"{base}/live").json()["cursor"]
        seen = []
        with http.stream("GET", f"{base}/live?cursor={start_cursor}", headers=STREAM) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            upload = http.post(f"{base}/api/transcripts", files={"file": ("2WLI1101HD.srt", SRT)})
            job_id = upload.json()["job"]["id"]
            for cursor in changes(stream):
                seen.append(cursor)
                final = http.get(f"{base}/jobs/{job_id}/live").json()["cursor"]
                if job_status(http, base, job_id)["status"] == "completed" and cursor == final:
                    break
        assert seen == sorted(set(seen)) and seen[0] > start_cursor
        # The last change the API's stream told of is the worker's own write: completion.
        last = http.get(f"{base}/api/jobs/{job_id}/events").json()["events"][-1]
        assert last["kind"] == "completed" and seen[-1] == last["id"]
        # A browser reconnecting with Last-Event-ID up to date hears nothing until a change.
        headers = {**STREAM, "Last-Event-ID": str(final)}
        with http.stream("GET", f"{base}/jobs/{job_id}/live?cursor=0", headers=headers) as again:
            http.post(f"{base}/api/jobs/{job_id}/retry")  # refused (completed): no event
            http.patch(f"{base}/api/jobs/{job_id}", json={"priority": 5})
            assert next(changes(again)) > final
    finally:
        assert stop(server, signal.SIGINT) == 0, log.read_text(errors="replace")[-2000:]


def test_a_stop_ends_open_streams_instead_of_waiting_on_them(tmp_path: Path) -> None:
    served = serve(tmp_path)
    base, http, server, log = served.base, served.http, served.process, served.log
    try:
        with http.stream("GET", f"{base}/live", headers=STREAM) as stream:
            lines = stream.iter_lines()
            assert next(lines) == "retry: 3000"
            server.send_signal(signal.SIGTERM)  # what systemctl stop sends
            rest = list(lines)  # the server ends the stream: no event, no error
        assert all(not line or line.startswith(":") for line in rest)
        assert server.wait(timeout=60) == 0
    finally:
        stop(server, signal.SIGTERM)
    # The workers stopped by themselves; none had to be killed at the graceful timeout.
    assert "SIGKILL" not in log.read_text(errors="replace")
