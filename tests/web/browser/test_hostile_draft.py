"""A draft written to attack its readers renders inert in Chromium: scripts, event handlers and
``javascript:`` links stay text or lose their target, even with clicking every link in it.

The hostile draft is published the way the pipeline publishes any output (``pipeline.outputs``:
staged, then committed as the phase's newest version) into the live service's own data folder.
Each page is also read with the Content-Security-Policy bypassed, so the sanitiser is shown to
hold on its own, not only behind the policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from editorial_assistant.config import load_settings
from editorial_assistant.db import connect, transaction, utcnow
from editorial_assistant.pipeline.outputs import commit_output, job_output_dir, stage_output
from editorial_assistant.pipeline.provenance import with_header
from tests.web.browser.dashboard import completed_job
from tests.web.browser.harness import LiveService

pytestmark = [pytest.mark.system, pytest.mark.needs_dev_tools]

PWN = "window.__pwned=1"
HOSTILE = f"""# Hostile draft

<script>{PWN}</script>

<img src=x onerror="{PWN}">

<a href="javascript:{PWN}">raw anchor</a>

[click](javascript:{PWN})

[a reference link][evil] and an autolink <javascript:{PWN}>

[EVIL](JaVaScRiPt:{PWN}) and [data](data:text/html,<script>{PWN}</script>)

![an image](javascript:{PWN})

Links the browser would still run if they kept their target: [with a tab](java&#9;script:{PWN}),
[a newline](java%0Ascript:{PWN}), [spaced](<javascript :{PWN}>), [relative](/admin/users),
[protocol-relative](//evil.invalid/x) and [a tabbed reference][tabbed].

[tabbed]: java&#9;script:{PWN}

[evil]: javascript:{PWN}
"""
JAVASCRIPT_LINKS = """() => Array.from(document.querySelectorAll("[href], [src], [action]"))
  .map(e => e.getAttribute("href") || e.getAttribute("src") || e.getAttribute("action"))
  .filter(url => /^\\s*(javascript|data|vbscript):/i.test(url))"""


@pytest.fixture(scope="module")
def hostile(live: LiveService) -> dict[str, Any]:
    """A completed job whose SEO draft is now the hostile one (version 2)."""
    job = completed_job(live)
    settings = load_settings(live.env)
    folder = job_output_dir(settings.data_dir, job["media_id"], job["id"])
    text = with_header(
        HOSTILE,
        media_id=job["media_id"],
        job_id=job["id"],
        phase="seo",
        model="hostile/model",
        tier=0,
        prompt_tokens=1,
        completion_tokens=1,
        cost_usd=0.0,
        now=utcnow(),
    )
    conn = connect(settings.database_path)
    try:
        with transaction(conn):
            staged = stage_output(folder, "seo.md", text)
            commit_output(
                conn,
                data_dir=settings.data_dir,
                job_id=job["id"],
                phase="seo",
                name="seo.md",
                staged=staged,
                model="hostile/model",
                now=utcnow(),
            )
    finally:
        conn.close()
    return job


@pytest.mark.parametrize("policy", ["enforced", "bypassed"])
@pytest.mark.parametrize("view", ["/jobs/{id}", "/jobs/{id}/drafts"])
def test_a_hostile_draft_renders_inert(
    view: str, policy: str, hostile: dict[str, Any], page_as: Callable[..., Page]
) -> None:
    page = page_as("admin", axe=policy == "bypassed")
    url = view.format(**hostile)
    page.goto(url)
    draft = page.locator("#draft-seo")
    expect(draft).to_contain_text("version 2, written by hostile/model")
    body = draft.locator(".body")
    # The tags are shown as the text they are, not run.
    expect(body).to_contain_text(f"<script>{PWN}</script>")
    expect(body).to_contain_text("<img src=x onerror=")
    expect(body.get_by_role("heading", name="Hostile draft")).to_be_visible()
    assert page.locator("#job-drafts script, #job-drafts img, #job-drafts [onerror]").count() == 0
    assert page.evaluate(JAVASCRIPT_LINKS) == []

    links = body.locator("a")
    expect(links).to_have_count(6)
    for index in range(links.count()):
        links.nth(index).click()
    # A javascript: URL runs in a later task: let a frame and a task pass before looking.
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => setTimeout(done)))")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.url.endswith(url) and len(page.context.pages) == 1
