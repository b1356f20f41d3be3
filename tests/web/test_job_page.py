"""The job page and its print view, through the real app, with jobs run by the real pipeline."""

from __future__ import annotations

from fastapi.testclient import TestClient

from editorial_assistant.audit.service import Who
from editorial_assistant.auth.grants import grant
from editorial_assistant.config import Settings
from editorial_assistant.db import connect, transaction, utcnow
from editorial_assistant.pipeline import outputs
from editorial_assistant.pipeline.provenance import strip_header, with_header
from editorial_assistant.web.render import duration, seconds_between, usd, when
from editorial_assistant.worker import Worker
from tests.conftest import add_persona, bearer
from tests.web.job_pages import HTML, PHASE_RETRIES, Page, actions_of, job_page, submit
from tests.web.test_markdown import HOSTILE, assert_inert


def test_the_header_shows_the_job(client: TestClient, worker: Worker) -> None:
    job_id = submit(client, priority="7")
    assert worker.run(job_id) == "completed"
    job = client.get(f"/api/jobs/{job_id}").json()
    page = job_page(client, job_id)
    facts = page.text("job-facts")
    for value in ("2WLI1209HD", "2WLI1209HD.srt", "completed", "Priority 7", "Attempts 1"):
        assert value in facts
    for moment in ("created_at", "started_at", "finished_at"):
        assert when(job[moment]) in facts
    assert f"Programme {duration(job['transcript']['duration_seconds'])}" in facts
    run = seconds_between(job["started_at"], job["finished_at"])
    assert f"Run time {duration(run)}" in facts
    assert page.text("job-status") == "Completed: 4 of 5 phases done, 1 skipped."
    assert [tag for tag, _ in page.tags].count("h1") == 1


def test_each_phase_shows_its_tier_model_tokens_and_cost(
    client: TestClient, worker: Worker
) -> None:
    job_id = submit(client)
    worker.run(job_id)
    page = job_page(client, job_id)
    for phase in client.get(f"/api/jobs/{job_id}").json()["phases"]:
        row = page.text(f"phase-{phase['name']}")
        assert phase["status"] in row
        if phase["status"] == "skipped":
            assert "programme shorter than 30 min" in row
            continue
        tier_name = ("cheap", "default", "strong")[phase["tier"]]
        assert f"{phase['tier']} ({tier_name}) {phase['tier_reason']} local" in row
        tokens = f"{phase['prompt_tokens']:,} / {phase['completion_tokens']:,}"
        assert f"local {tokens} {usd(phase['cost_usd'], 4)} {phase['attempts']}" in row
    progress = page.text("job-phases")
    assert "Brainstorming: completed" in progress and "Chapters: skipped" in progress


def test_a_draft_is_rendered_with_a_copy_button_and_a_download_link(
    client: TestClient, worker: Worker
) -> None:
    job_id = submit(client)
    worker.run(job_id)
    page = job_page(client, job_id)
    stored = client.get(f"/api/jobs/{job_id}/outputs/seo.md")
    assert stored.status_code == 200
    assert "Wisconsin" in page.text("draft-seo")
    assert ("h5", {}) in page.tags  # the draft's "## Title" sits below the page's h3
    copy = next(attrs for tag, attrs in page.tags if attrs.get("data-copy") == "raw-seo")
    assert copy["data-copy-status"] == "copied-seo" and copy["type"] == "button"
    assert page.attrs("copied-seo")["aria-live"] == "polite"
    raw = page.attrs("raw-seo")
    assert "hidden" in raw and "readonly" in raw
    assert page.text("raw-seo") == " ".join(strip_header(stored.text).split())
    link = next(attrs for tag, attrs in page.tags if attrs.get("href", "").endswith("/seo.md"))
    assert link["href"] == f"/api/jobs/{job_id}/outputs/seo.md"
    assert link["download"] == "2WLI1209HD-seo.md"


def test_a_queued_job_offers_pause_and_cancel(client: TestClient) -> None:
    job_id = submit(client)
    page = job_page(client, job_id)
    assert actions_of(page, job_id) == {"pause", "cancel"}
    assert "No drafts yet" in page.text("job-drafts")
    cancel = next(attrs for _, attrs in page.tags if attrs.get("data-api", "").endswith("cancel"))
    assert cancel["data-confirm"].startswith(f"Cancel job {job_id} (2WLI1209HD)?")


def test_a_completed_job_offers_the_phase_retries(client: TestClient, worker: Worker) -> None:
    job_id = submit(client)
    worker.run(job_id)
    page = job_page(client, job_id)
    assert actions_of(page, job_id) == PHASE_RETRIES
    select = page.attrs("tier-seo")
    assert select["name"] == "tier" and select["data-type"] == "int" and "data-optional" in select
    assert ("label", {"for": "tier-seo"}) in page.tags
    assert "Tier for SEO metadata" in page.text("phase-seo")
    assert "Retry SEO metadata" in page.text("phase-seo")
    options = page.text("tier-seo")
    assert options == "Automatic 0 cheap 1 default 2 strong"


def test_a_viewer_sees_the_job_but_no_write_controls(
    client: TestClient, worker: Worker, settings: Settings
) -> None:
    carol = bearer(add_persona(settings, "carol", "viewer"))
    job_id = submit(client)
    worker.run(job_id)
    page = job_page(client, job_id, **carol)
    assert page.forms() == [] and "job-actions" not in page.by_id
    buttons = [attrs for tag, attrs in page.tags if tag in ("button", "select", "input")]
    assert buttons and all("data-copy" in attrs for attrs in buttons)  # copying is reading
    queued = submit(client, "2WLI1300HD.srt")
    assert job_page(client, queued, **carol).forms() == []


def test_a_project_grant_gives_a_viewer_the_controls_of_that_project_only(
    client: TestClient, settings: Settings
) -> None:
    carol = bearer(add_persona(settings, "carol", "viewer"))
    mine, other = submit(client), submit(client, "2WLI1300HD.srt")
    conn = connect(settings.database_path)
    grant(conn, media_id="2WLI1209HD", username="carol", role="editor", who=Who("t"), now=utcnow())
    grant(conn, media_id="2WLI1300HD", username="carol", role="viewer", who=Who("t"), now=utcnow())
    assert actions_of(job_page(client, mine, **carol), mine) == {"pause", "cancel"}
    assert job_page(client, other, **carol).forms() == []


def test_the_page_keeps_itself_current(client: TestClient) -> None:
    job_id = submit(client)
    page = job_page(client, job_id)
    body = next(attrs for tag, attrs in page.tags if tag == "body")
    assert body["data-live"] == f"/jobs/{job_id}/live"
    assert body["data-live-cursor"] == str(client.get(f"/jobs/{job_id}/live").json()["cursor"])
    regions = {attrs["id"] for _, attrs in page.tags if "data-live-region" in attrs}
    assert regions == {
        "job-facts",
        "job-status",
        "job-notices",
        "job-actions",
        "job-phases",
        "job-drafts",
        "job-timeline",
    }
    polite = [attrs.get("id") for _, attrs in page.tags if attrs.get("aria-live") == "polite"]
    assert polite == ["job-status"]
    assert "Queued" in page.text("job-timeline")


def test_a_missing_job_gets_the_friendly_page_and_a_bad_id_a_422(client: TestClient) -> None:
    missing = client.get("/jobs/999", headers=HTML)
    assert missing.status_code == 404
    assert "There is no job 999." in Page(missing.text).text()
    assert client.get("/jobs/abc", headers=HTML).status_code == 422
    assert client.get("/jobs/0/drafts", headers=HTML).status_code == 422


def test_an_anonymous_browser_is_sent_to_sign_in(client: TestClient, anonymous: TestClient) -> None:
    job_id = submit(client)
    response = anonymous.get(f"/jobs/{job_id}", headers=HTML, follow_redirects=False)
    assert response.status_code in (302, 303, 307) and "/login" in response.headers["location"]


def test_the_print_view_holds_the_header_and_the_drafts_only(
    client: TestClient, worker: Worker
) -> None:
    job_id = submit(client)
    worker.run(job_id)
    assert job_page(client, job_id).attrs("job-drafts")  # linked from the job page:
    assert f'<a href="/jobs/{job_id}/drafts">Print view</a>' in client.get(f"/jobs/{job_id}").text
    response = client.get(f"/jobs/{job_id}/drafts", headers=HTML)
    assert response.status_code == 200
    page = Page(response.text)
    assert "2WLI1209HD.srt" in page.text("job-facts") and "Wisconsin" in page.text("draft-seo")
    ids = set(page.by_id)
    assert not ids & {"job-phases", "job-timeline", "job-actions", "job-notices", "raw-seo"}
    assert page.forms() == [] and not [t for t, _ in page.tags if t in ("button", "textarea")]
    assert "data-live" not in next(attrs for tag, attrs in page.tags if tag == "body")


def test_the_parts_that_are_not_drafts_do_not_print(client: TestClient, worker: Worker) -> None:
    job_id = submit(client)
    worker.run(job_id)
    page = job_page(client, job_id)
    for part in ("job-notices", "job-actions", "job-phases", "job-timeline"):
        assert "no-print" in page.attrs(part)["class"].split()


def test_a_hostile_stored_draft_renders_inert(
    client: TestClient, worker: Worker, settings: Settings
) -> None:
    job_id = submit(client)
    worker.run(job_id)
    conn = connect(settings.database_path)
    now = utcnow()
    text = with_header(
        HOSTILE,
        media_id="2WLI1209HD",
        job_id=job_id,
        phase="seo",
        model="hostile/model",
        tier=0,
        prompt_tokens=1,
        completion_tokens=1,
        cost_usd=0.0,
        now=now,
    )
    folder = outputs.job_output_dir(settings.data_dir, "2WLI1209HD", job_id)
    staged = outputs.stage_output(folder, "seo.md", text)
    with transaction(conn):  # as pipeline/publish.py commits a draft
        outputs.commit_output(
            conn,
            data_dir=settings.data_dir,
            job_id=job_id,
            phase="seo",
            name="seo.md",
            staged=staged,
            model="hostile/model",
            now=now,
        )
    for url in (f"/jobs/{job_id}", f"/jobs/{job_id}/drafts"):
        response = client.get(url, headers=HTML)
        page = Page(response.text)
        assert "seo.md, version 2, written by hostile/model" in page.text("draft-seo")
        scripts = [attrs for tag, attrs in page.tags if tag == "script"]
        assert scripts == [{"src": scripts[0]["src"], "defer": ""}]  # base.html's app.js only
        assert scripts[0]["src"].startswith("/static/app.js")
        body = response.text.split('id="draft-seo"', 1)[1].split("</article>", 1)[0]
        assert_inert(body.split('<div class="body">', 1)[1])
        assert "<script>alert(1)</script>" in page.text("draft-seo")  # shown, as text
    raw = Page(client.get(f"/jobs/{job_id}").text).text("raw-seo")
    assert raw == " ".join(strip_header(text).split())  # the copy holds the Markdown as written


def test_a_hostile_file_name_is_escaped(client: TestClient) -> None:
    job_id = submit(client, "2WLI1209HD <b onclick=alert(1)>.srt")
    html = client.get(f"/jobs/{job_id}", headers=HTML).text
    assert "<b onclick" not in html
    assert "2WLI1209HD <b onclick=alert(1)>.srt" in Page(html).text("job-facts")


def test_a_draft_missing_from_the_disk_is_named_and_the_page_still_opens(
    client: TestClient, worker: Worker, settings: Settings
) -> None:
    job_id = submit(client)
    worker.run(job_id)
    outputs.job_output_dir(settings.data_dir, "2WLI1209HD", job_id).joinpath("seo.md").unlink()
    page = job_page(client, job_id)
    assert "This output's file is missing from the disk." in page.text("draft-seo")
    assert "raw-seo" not in page.by_id and "Wisconsin" in page.text("draft-brainstorming")
