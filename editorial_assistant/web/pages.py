"""The landing page: what is running, the latest jobs with links to their drafts, how to submit.

Plain server-rendered HTML with every value escaped, no scripts and no inline style (its look
is ``static/app.css``); the full dashboard replaces it in a later release.
"""

from __future__ import annotations

from html import escape
from typing import Any

from editorial_assistant import __version__


def landing_page(jobs: list[dict[str, Any]], outputs: dict[int, list[str]], base: str) -> str:
    """The HTML of the landing page."""
    rows = "".join(_job_row(job, outputs.get(job["id"], [])) for job in jobs)
    table = (
        "<table><thead><tr><th>Job</th><th>Media ID</th><th>Status</th><th>Drafts</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
        if jobs
        else "<p>No jobs yet.</p>"
    )
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
        f"content='width=device-width,initial-scale=1'><title>Editorial Assistant</title>"
        f"<link rel=stylesheet href=/static/app.css></head><body><h1>Editorial Assistant</h1>"
        f"<p>Version {escape(__version__)} is running. Submit a caption file:</p>"
        f"<pre>curl -H 'Authorization: Bearer eak_…' -F file=@captions.srt "
        f"{escape(base)}/api/transcripts</pre>"
        f"<p>or <code>editorial-assistant submit captions.srt</code>. The API is described at "
        f"<a href=/docs>/docs</a> (<a href=/openapi.json>OpenAPI</a>).</p>"
        f"<h2>Latest jobs</h2>{table}</body></html>"
    )


def _job_row(job: dict[str, Any], names: list[str]) -> str:
    links = " ".join(
        f"<a href='/api/jobs/{job['id']}/outputs/{escape(name)}'>{escape(name)}</a>"
        for name in names
    )
    return (
        f"<tr><td><a href='/api/jobs/{job['id']}'>{job['id']}</a></td>"
        f"<td>{escape(job['media_id'])}</td><td>{escape(job['status'])}</td>"
        f"<td>{links or '–'}</td></tr>"
    )
