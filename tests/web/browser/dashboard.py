"""Jobs and caption files for the dashboard's browser tests: submitting, waiting, dropping files.

Jobs are put in place through the service's own HTTP API (admin key), as an integration would;
what a test watches happens in the browser. Every file name carries a fresh tag, so Media IDs
never collide between tests sharing one service.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tests.conftest import SRT
from tests.system.processes import wait_for
from tests.web.browser.harness import LiveService

if TYPE_CHECKING:
    from playwright.sync_api import Page

FINISHED = ("completed", "failed", "cancelled")
# How long a test waits on the service's own progress (jobs on the slow backend take ~8 s each,
# several may be queued ahead). A limit for a stuck page, not a measure of speed.
PATIENCE_MS = 90_000
SCC = "Scenarist_SCC V1.0\n\n00:00:00:00\t9420 9420 94ae 94ae 9452 9452 97a2 97a2\n"
MAKE_DATA_TRANSFER = """files => {
  const transfer = new DataTransfer();
  for (const file of files) {
    const bytes = Uint8Array.from(atob(file.data), c => c.charCodeAt(0));
    transfer.items.add(new File([bytes], file.name, { type: "text/plain" }));
  }
  return transfer;
}"""


def tag() -> str:
    """A short fresh token for file names and Media IDs."""
    return uuid.uuid4().hex[:8].upper()


def caption_file(stem: str = "WEB") -> tuple[str, bytes]:
    """A generated SRT caption file with a Media ID no other test uses."""
    return f"{stem}{tag()}.srt", SRT.encode("utf-8")


def scc_file() -> tuple[str, bytes]:
    """A generated Scenarist SCC file: the intake refuses it."""
    return f"SCC{tag()}.scc.txt", SCC.encode("ascii")


def submit(service: LiveService, name: str | None = None, **form: str) -> dict[str, Any]:
    """Upload generated captions through the API; return the new job."""
    filename, data = caption_file() if name is None else (name, SRT.encode("utf-8"))
    response = service.api.post(
        service.url("/api/transcripts"), files={"file": (filename, data)}, data=form
    )
    assert response.status_code == 201, response.text
    return dict(response.json()["job"])


def job(service: LiveService, job_id: int) -> dict[str, Any]:
    """The job as the API shows it."""
    response = service.api.get(service.url(f"/api/jobs/{job_id}"))
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_until(service: LiveService, job_id: int, *statuses: str) -> dict[str, Any]:
    """Wait for the job to reach one of ``statuses`` (any finished one by default)."""
    wanted = statuses or FINISHED

    def reached() -> dict[str, Any] | None:
        found = job(service, job_id)
        return found if found["status"] in wanted else None

    found: dict[str, Any] = wait_for(reached, f"job {job_id} {'/'.join(wanted)}", service.log)
    return found


def completed_job(service: LiveService) -> dict[str, Any]:
    """A new job run to completion, with its drafts."""
    made = submit(service)
    done = wait_until(service, made["id"])
    assert done["status"] == "completed", done
    return done


def output(service: LiveService, job_id: int, name: str) -> str:
    """An output's stored Markdown, from ``GET /api/jobs/{id}/outputs/{name}``."""
    response = service.api.get(service.url(f"/api/jobs/{job_id}/outputs/{name}"))
    assert response.status_code == 200, response.text
    return response.text


def drop_files(page: Page, files: Iterable[tuple[str, bytes]], target: str = "#dropzone") -> None:
    """Drop files on ``target`` as a person dragging them from the desktop would.

    Playwright's documented way: a DataTransfer built in the page holding File objects, then the
    drag events dispatched on the drop target.
    """
    payload = [{"name": n, "data": base64.b64encode(d).decode("ascii")} for n, d in files]
    transfer = page.evaluate_handle(MAKE_DATA_TRANSFER, payload)
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(target, event, {"dataTransfer": transfer})


def job_id_of(href: str | None) -> int:
    """The job number in a ``/jobs/{id}`` link."""
    match = re.fullmatch(r"/jobs/(\d+)", href or "")
    assert match, f"not a job link: {href!r}"
    return int(match.group(1))
