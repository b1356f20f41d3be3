"""An editor's day in Chromium: dropping caption files on the queue, watching a job finish live,
reading and copying a draft, retrying a phase, cancelling and reprioritising from the queue.

The uploads run on the shared service; everything that watches a job change runs on the slow
one, whose jobs stay queued or running long enough to be seen doing so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Dialog, Locator, Page, expect

from editorial_assistant.pipeline.phases import PHASE_BY_NAME
from editorial_assistant.pipeline.provenance import strip_header
from tests.web.browser.dashboard import (
    PATIENCE_MS,
    caption_file,
    drop_files,
    job,
    job_id_of,
    output,
    scc_file,
    submit,
    wait_until,
)
from tests.web.browser.harness import LiveService

pytestmark = [pytest.mark.system, pytest.mark.needs_dev_tools]

CORPUS_CAPTIONS = (
    "2WLI1102HD_REV20241007_midshow_butterflygarden_ForClaude.txt",
    "2WLICindysStorySM_ForClaude.txt",
    "2WLIKichwaCollectiveSM_ForClaude.txt",
)
CORPUS_SCC = "2GFL0000HD2X.mxf.scc_ForClaude.txt"
MARK = "window.__marker = 1"
STILL_MARKED = "window.__marker === 1"


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_an_editor_drops_generated_caption_files_on_the_queue(
    size: str,
    page_as: Callable[..., Page],
    live: LiveService,
    screenshot: Callable[[Page, str], Any],
) -> None:
    files = [caption_file("DROP") for _ in range(3)]
    page = page_as("editor", size)
    drop_and_check(page, live, files, scc_file())
    screenshot(page, "queue-upload-results")


def test_an_editor_drops_corpus_caption_files_on_the_queue(
    page_as: Callable[..., Page], live: LiveService, corpus: Path
) -> None:
    files = [(name, (corpus / name).read_bytes()) for name in CORPUS_CAPTIONS]
    scc = (CORPUS_SCC, (corpus / CORPUS_SCC).read_bytes())
    drop_and_check(page_as("editor"), live, files, scc)


def drop_and_check(
    page: Page, live: LiveService, files: list[tuple[str, bytes]], scc: tuple[str, bytes]
) -> None:
    """Three files accepted, the first again a duplicate, the SCC file rejected with the reason."""
    page.goto("/")
    page.evaluate(MARK)
    drop_files(page, files)
    accepted = page.locator("#upload-results li.upload-result.accepted")
    expect(accepted).to_have_count(3)
    ids = []
    for item, (name, _) in zip(accepted.all(), files, strict=True):
        expect(item).to_contain_text(name)
        link = item.get_by_role("link", name=re.compile(r"^Open job \d+$"))
        ids.append(job_id_of(link.get_attribute("href")))
        assert job(live, ids[-1])["transcript"]["filename"] == name
    # The queue's own table picks the new jobs up without a reload.
    for job_id in ids:
        expect(page.locator(f"#job-{job_id}")).to_be_visible()

    drop_files(page, files[:1])
    duplicate = page.locator("#upload-results li.upload-result.duplicate")
    expect(duplicate).to_have_count(1)
    expect(duplicate).to_contain_text(files[0][0])
    expect(duplicate.get_by_role("link")).to_have_attribute("href", f"/jobs/{ids[0]}")

    drop_files(page, [scc])
    rejected = page.locator("#upload-results li.upload-result.rejected")
    expect(rejected).to_have_count(1)
    expect(rejected).to_contain_text(scc[0])
    expect(rejected).to_contain_text("Export the captions as SRT")
    expect(rejected.get_by_role("link")).to_have_count(0)
    assert page.evaluate(STILL_MARKED), "the page was reloaded"


def status_of(page: Page) -> Locator:
    """The job page's status badge, in its facts."""
    return page.locator("#job-facts .badge")


def test_the_job_page_follows_a_job_to_completion_without_reloading(
    page_as: Callable[..., Page], slow_live: LiveService
) -> None:
    made = submit(slow_live)
    page = page_as("editor", service=slow_live)
    page.goto(f"/jobs/{made['id']}")
    expect(status_of(page)).to_have_text(re.compile("^(queued|running)$"))
    expect(page.locator("body")).to_have_attribute("data-live-mode", "events")
    page.evaluate(MARK)

    expect(status_of(page)).to_have_text("completed", timeout=PATIENCE_MS)
    expect(page.locator("#job-status")).to_contain_text("Completed")
    drafts = page.locator("#job-drafts article.draft")
    expect(drafts).to_have_count(len(job(slow_live, made["id"])["outputs"]))
    assert page.evaluate(STILL_MARKED), "the page was reloaded"


def test_an_editor_reads_and_copies_a_draft(
    page_as: Callable[..., Page], slow_live: LiveService
) -> None:
    done = wait_until(slow_live, submit(slow_live)["id"])
    page = page_as("editor", service=slow_live)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"/jobs/{done['id']}")
    title = PHASE_BY_NAME["seo"].title
    draft = page.get_by_role("article", name=title)
    # Rendered, not shown as Markdown source: the draft's headings are headings.
    expect(draft.locator(".body")).to_be_visible()
    expect(draft.locator(".body").get_by_role("heading").first).to_be_visible()
    expect(draft.locator(".body")).not_to_contain_text("## ")

    draft.get_by_role("button", name=f"Copy {title}").click()
    expect(draft.get_by_text("Copied to the clipboard.")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == strip_header(output(slow_live, done["id"], "seo.md"))
    download = draft.get_by_role("link", name="Download seo.md")
    expect(download).to_have_attribute("href", f"/api/jobs/{done['id']}/outputs/seo.md")


def test_an_editor_retries_one_phase_at_a_chosen_tier(
    page_as: Callable[..., Page], slow_live: LiveService
) -> None:
    done = wait_until(slow_live, submit(slow_live)["id"])
    page = page_as("editor", service=slow_live)
    page.goto(f"/jobs/{done['id']}")
    page.evaluate(MARK)
    title = PHASE_BY_NAME["seo"].title
    row = page.locator("#phase-seo")
    expect(row).to_contain_text("0 (cheap)")

    page.get_by_label(f"Tier for {title}").select_option(label="2 strong")
    page.get_by_role("button", name=f"Retry {title}", exact=True).click()

    expect(page.locator("#flash")).to_contain_text(f"{title} runs again")
    timeline = page.locator("#job-timeline")
    expect(timeline).to_contain_text("Phase seo retried at tier 2.")
    expect(status_of(page)).to_have_text("completed", timeout=PATIENCE_MS)
    expect(row).to_contain_text("2 (strong)")
    expect(row).to_contain_text("forced to tier 2 by an editor")
    seo = page.get_by_role("article", name=title)
    expect(seo).to_contain_text("seo.md, version 2")
    after = job(slow_live, done["id"])
    assert next(p for p in after["phases"] if p["name"] == "seo")["tier"] == 2
    assert page.evaluate(STILL_MARKED), "the page was reloaded"


def test_an_editor_cancels_and_reprioritises_jobs_from_the_queue(
    page_as: Callable[..., Page], slow_live: LiveService
) -> None:
    ahead = submit(slow_live)
    to_cancel, to_raise = submit(slow_live), submit(slow_live)
    page = page_as("editor", service=slow_live)
    page.goto("/")
    page.evaluate(MARK)

    row = page.locator(f"#job-{to_raise['id']}")
    row.get_by_label(f"Priority for job {to_raise['id']}", exact=True).fill("7")
    row.get_by_role("button", name=f"Set priority for job {to_raise['id']}").click()
    expect(page.locator("#flash")).to_have_text("Priority saved.")
    expect(row.get_by_label(f"Priority for job {to_raise['id']}", exact=True)).to_have_value("7")
    assert job(slow_live, to_raise["id"])["priority"] == 7

    row = page.locator(f"#job-{to_cancel['id']}")
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    row.get_by_role("button", name=f"Cancel job {to_cancel['id']}").click()
    expect(row.locator(".badge")).to_have_text("cancelled")
    assert asked and asked[0].startswith(f"Cancel job {to_cancel['id']} (")
    assert job(slow_live, to_cancel["id"])["status"] == "cancelled"
    expect(row.get_by_role("button", name=f"Cancel job {to_cancel['id']}")).to_have_count(0)
    assert page.evaluate(STILL_MARKED), "the page was reloaded"
    assert job(slow_live, ahead["id"])["status"] != "cancelled"


def test_the_job_page_falls_back_to_polling_without_event_source(
    page_as: Callable[..., Page], slow_live: LiveService
) -> None:
    made = submit(slow_live)
    page = page_as("editor", service=slow_live)
    page.context.add_init_script("delete window.EventSource")
    page.goto(f"/jobs/{made['id']}")
    assert page.evaluate("typeof window.EventSource") == "undefined"
    page.evaluate(MARK)
    expect(status_of(page)).to_have_text("completed", timeout=PATIENCE_MS)
    assert page.evaluate(STILL_MARKED), "the page was reloaded"
    expect(page.locator("body")).to_have_attribute("data-live-mode", "polling")
