"""The queue page (``/``) and the rules every dashboard template keeps."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from editorial_assistant import web
from editorial_assistant.config import Settings
from tests.conftest import SRT, add_persona, bearer, upload

# The templates of the package under test (the source tree's, or an installed venv's).
TEMPLATES = Path(web.__file__).parent / "templates"
HTML = {"Accept": "text/html"}


def test_no_template_has_inline_script_style_or_unescaped_output() -> None:
    templates = sorted(TEMPLATES.glob("*.html"))
    assert len(templates) >= 3
    for template in templates:
        text = template.read_text(encoding="utf-8")
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) is None, template.name
        assert "<style" not in text and " style=" not in text, template.name
        assert re.search(r"\son[a-z]+\s*=", text) is None, template.name
        assert "|safe" not in text.replace(" ", ""), template.name
        assert "autoescape false" not in text, template.name


def test_the_queue_page_links_its_assets_and_has_no_inline_script(client: TestClient) -> None:
    page = client.get("/").text
    assert '<link rel="stylesheet" href="/static/app.css?v=' in page
    assert '<script src="/static/app.js?v=' in page
    assert "<style" not in page and "style=" not in page
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    for asset, kind in (("/static/app.css", "text/css"), ("/static/app.js", "javascript")):
        response = client.get(asset)
        assert response.status_code == 200 and kind in response.headers["content-type"]


def test_tabs_count_jobs_by_status_and_filter_the_table(client: TestClient) -> None:
    ids = [upload(client, f"2WLI110{n}HD.srt", SRT).json()["job"]["id"] for n in range(3)]
    assert client.post(f"/api/jobs/{ids[0]}/cancel").status_code == 200
    page = client.get("/").text
    assert re.search(r"All <span class=\"count\">\(3\)</span>", page)
    assert re.search(r"Queued <span class=\"count\">\(2\)</span>", page)
    assert re.search(r"Cancelled <span class=\"count\">\(1\)</span>", page)
    cancelled = client.get("/?status=cancelled").text
    assert f'href="/jobs/{ids[0]}"' in cancelled and f'href="/jobs/{ids[1]}"' not in cancelled
    assert 'href="/?status=cancelled" aria-current="page"' in cancelled


def test_search_finds_by_media_id_or_file_name(client: TestClient) -> None:
    upload(client, "2WLI1101HD.srt", SRT)
    upload(client, "6GWQ2402.srt", SRT)
    page = client.get("/", params={"q": "GWQ"}).text
    assert "6GWQ2402" in page and "2WLI1101HD" not in page
    assert "1 job matching “GWQ”" in page
    assert "No jobs match “nothing-like-this”." in client.get("/?q=nothing-like-this").text


def test_pages_of_25_with_next_and_previous_links_that_keep_the_filter(
    client: TestClient,
) -> None:
    for n in range(27):
        upload(client, f"2WLI{n:04d}HD.srt", SRT)
    first = client.get("/?q=2WLI").text
    assert first.count('<tr id="job-') == 25
    assert "Page 1 of 2" in first and 'href="/?status=all&amp;q=2WLI&amp;page=2"' in first
    second = client.get("/?q=2WLI&page=2").text
    assert second.count('<tr id="job-') == 2 and 'rel="prev"' in second
    assert 'rel="next"' not in second


def test_editors_get_upload_priority_and_cancel_controls(client: TestClient) -> None:
    job_id = upload(client, "2WLI1101HD.srt", SRT).json()["job"]["id"]
    page = client.get("/").text
    assert 'data-dropzone="upload-results"' in page
    assert f'data-api="/api/jobs/{job_id}" data-method="PATCH"' in page
    assert f'data-api="/api/jobs/{job_id}/cancel"' in page and "data-confirm=" in page
    # What app.js sends for the priority form is what the API takes.
    changed = client.patch(f"/api/jobs/{job_id}", json={"priority": 7})
    assert changed.status_code == 200 and 'value="7"' in client.get("/").text


def test_a_viewer_sees_the_queue_without_write_controls(
    client: TestClient, settings: Settings
) -> None:
    job_id = upload(client, "2WLI1101HD.srt", SRT).json()["job"]["id"]
    viewer = bearer(add_persona(settings, "vera", "viewer"))
    page = client.get("/", headers=viewer).text
    assert f'href="/jobs/{job_id}"' in page
    for control in ("data-dropzone", 'data-api="/api/jobs', "Cancel job", "data-method"):
        assert control not in page
    assert client.post(f"/api/jobs/{job_id}/cancel", headers=viewer).status_code == 403


def test_a_bad_tab_or_page_is_a_friendly_page_with_the_api_error_code(
    client: TestClient,
) -> None:
    for url in ("/?status=bogus", "/?page=0", "/?page=x"):
        response = client.get(url, headers=HTML)
        assert response.status_code == 422, url
        assert response.headers["content-type"].startswith("text/html")
        assert "<code>invalid_request</code>" in response.text
        assert "Back to the queue" in response.text
    assert client.get("/?status=bogus").headers["content-type"].startswith("application/json")


def test_an_unknown_page_is_a_friendly_404(client: TestClient) -> None:
    response = client.get("/nowhere/<b>", headers=HTML)
    assert response.status_code == 404 and "<code>not_found</code>" in response.text
    assert "<b>" not in response.text


def test_anonymous_browsers_are_sent_to_sign_in(anonymous: TestClient) -> None:
    response = anonymous.get("/?status=failed", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/%3Fstatus%3Dfailed"


def test_the_live_cursor_moves_when_a_job_changes(client: TestClient) -> None:
    before = client.get("/live").json()["cursor"]
    job_id = upload(client, "2WLI1101HD.srt", SRT).json()["job"]["id"]
    after_upload = client.get("/live").json()["cursor"]
    assert after_upload > before
    assert client.get(f"/jobs/{job_id}/live").json()["cursor"] == after_upload
    client.post(f"/api/jobs/{job_id}/pause")
    assert client.get(f"/jobs/{job_id}/live").json()["cursor"] > after_upload
    page = client.get("/").text
    assert f'data-live-cursor="{client.get("/live").json()["cursor"]}"' in page


def test_a_refusal_page_keeps_the_frame_of_the_person_refused(
    client: TestClient, settings: Settings
) -> None:
    viewer = bearer(add_persona(settings, "vera", "viewer"))
    refused = client.get("/admin/users", headers={**viewer, **HTML})
    assert refused.status_code == 403 and "<code>forbidden</code>" in refused.text
    assert "key:vera-key" in refused.text and '<a href="/costs">Costs</a>' in refused.text
    assert '<a href="/admin/users"' not in refused.text  # the nav shows only what they may open


def test_a_missing_job_page_gives_readers_advice_not_api_calls(client: TestClient) -> None:
    missing = client.get("/jobs/999", headers=HTML)
    assert missing.status_code == 404 and "<code>not_found</code>" in missing.text
    assert "/api/" not in missing.text.split("<main", 1)[1].split("</main>", 1)[0]
    assert "search it by Media ID or file name" in missing.text


def test_the_live_cursor_of_a_job_that_does_not_exist_is_a_404(client: TestClient) -> None:
    missing = client.get("/jobs/999/live")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client.get("/live?cursor=-1").status_code == 422
