"""The project pages: ``/projects`` (every Media ID) and ``/projects/{media_id}`` (one, with its
grants), on jobs made through intake, run by the worker and charged the way the pipeline does."""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone

from fastapi.testclient import TestClient

from editorial_assistant.audit.service import Who
from editorial_assistant.auth.keyring import load_keyring
from editorial_assistant.auth.keys import create_key
from editorial_assistant.config import Settings
from editorial_assistant.db import connect, utcnow
from editorial_assistant.jobs.projects import list_projects
from editorial_assistant.llm.client import Attempt
from editorial_assistant.pipeline.accounting import record_call
from editorial_assistant.worker import Worker
from tests.conftest import SRT, add_persona, bearer, upload

HTML = {"Accept": "text/html"}
HOSTILE = "<script>alert(1)</script>"
HOSTILE_FILE = "<img src=x onerror=alert(1)>"  # intake keeps only what follows a "/"


def submit(client: TestClient, name: str, **form: str) -> int:
    response = upload(client, name, SRT, **form)
    assert response.status_code == 201, response.text
    return int(response.json()["job"]["id"])


def charge(settings: Settings, job_id: int, cost: float, phase: str = "analyst") -> None:
    """One LLM call billed to ``job_id``, recorded as the pipeline records it."""
    conn = connect(settings.database_path)
    try:
        attempt = Attempt("cheap/a", "cheap/a", "ok", 1000, 200, cost, 0.5)
        now = datetime(2026, 11, 3, 9, 0, tzinfo=timezone.utc)
        record_call(conn, job_id=job_id, phase=phase, tier=0, attempt=attempt, now=now)
    finally:
        conn.close()


def row_of(page: str, media_id: str) -> str:
    found = re.search(
        rf'<tr>\s*<th scope="row" class="wrap"><a href="/projects/{media_id}">.*?</tr>', page, re.S
    )
    assert found, f"no row for {media_id}"
    return found.group(0)


def test_each_media_id_is_one_row_with_its_jobs_drafts_cost_and_latest_job(
    client: TestClient, worker: Worker, settings: Settings
) -> None:
    first = submit(client, "2WLI1101HD.srt")
    assert worker.run(first) == "completed"
    second = submit(client, "2WLI1101HD.srt", force="true")
    charge(settings, first, 0.25)
    charge(settings, second, 0.0125)
    row = row_of(client.get("/projects").text, "2WLI1101HD")
    assert "2" in row and "(1 queued, 1 completed)" in row
    assert f'<a href="/jobs/{second}">#{second}</a> <span class="badge queued">queued</span>' in row
    job_page = client.get(f"/jobs/{first}").text
    for name in ("brainstorming", "formatted_transcript", "seo", "qa_review"):
        assert f'href="/jobs/{first}#draft-{name}"' in row
        assert f'id="draft-{name}"' in job_page  # the link lands on that draft
    assert f"from job #{first}" in row
    assert "$0.2625" in row


def test_the_most_recently_active_media_id_comes_first(client: TestClient) -> None:
    older = submit(client, "2WLI1101HD.srt")
    submit(client, "6GWQ2402.srt")
    page = client.get("/projects").text
    assert page.index("/projects/6GWQ2402") < page.index("/projects/2WLI1101HD")
    assert client.post(f"/api/jobs/{older}/cancel").status_code == 200
    page = client.get("/projects").text
    assert page.index("/projects/2WLI1101HD") < page.index("/projects/6GWQ2402")


def test_search_by_media_id_with_a_labelled_form(client: TestClient) -> None:
    submit(client, "2WLI1101HD.srt")
    submit(client, "6GWQ2402.srt")
    page = client.get("/projects", params={"q": "gwq"}).text
    assert '<label for="project-search">Search Media ID</label>' in page
    assert "/projects/6GWQ2402" in page and "/projects/2WLI1101HD" not in page
    assert "1 Media ID matching “gwq”" in page
    # LIKE's wildcards are matched literally.
    assert "No Media ID matches “%”." in client.get("/projects?q=%25").text


def test_pages_of_25_with_previous_and_next(client: TestClient) -> None:
    for n in range(27):
        submit(client, f"2WLI{n:04d}HD.srt")
    first = client.get("/projects?q=2WLI").text
    assert first.count('<th scope="row" class="wrap"><a href="/projects/') == 25
    assert 'href="/projects?q=2WLI&amp;page=2" rel="next">Next page</a>' in first
    second = client.get("/projects?q=2WLI&page=2").text
    assert second.count('<th scope="row" class="wrap"><a href="/projects/') == 2
    assert "Previous page" in second and "Next page" not in second


def test_the_list_reads_one_page_of_projects_not_every_project(
    client: TestClient, settings: Settings
) -> None:
    for n in range(12):
        submit(client, f"2WLI{n:04d}HD.srt")
    conn = connect(settings.database_path)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    projects, total = list_projects(conn, limit=5)
    conn.set_trace_callback(None)
    assert (len(projects), total) == (5, 12)
    # The count, the grouped page, its latest jobs, its newest jobs with drafts (none yet).
    assert len(statements) == 4
    grouped = next(s for s in statements if "GROUP BY media_id" in s)
    plan = " ".join(
        row[3]
        for row in conn.execute("EXPLAIN QUERY PLAN " + grouped.replace("LIMIT 5 OFFSET 0", ""))
    )
    assert "jobs_media_id" in plan


def test_hostile_file_names_are_escaped_in_the_list_and_on_the_project(client: TestClient) -> None:
    job_id = submit(client, f"2WLI1101HD {HOSTILE_FILE}.srt")
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["transcript"]["filename"] == f"2WLI1101HD {HOSTILE_FILE}.srt"
    for url in ("/projects", f"/projects/{job['media_id']}"):
        page = client.get(url).text
        assert "<img" not in page and html.escape(HOSTILE_FILE, quote=False) in page


def test_a_project_lists_every_job_with_its_status_dates_cost_and_drafts(
    client: TestClient, worker: Worker, settings: Settings
) -> None:
    first = submit(client, "2WLI1101HD.srt")
    worker.run(first)
    second = submit(client, "2WLI1101HD.srt", force="true")
    charge(settings, first, 0.5)
    page = client.get("/projects/2WLI1101HD").text
    assert "<h1>Project 2WLI1101HD</h1>" in page
    assert page.index(f'id="job-{second}"') < page.index(f'id="job-{first}"')
    assert '<span class="badge completed">completed</span>' in page
    assert f'href="/jobs/{first}#draft-seo"' in page
    assert f'href="/jobs/{second}#draft-' not in page
    assert "$0.5000" in page and " UTC" in page


def test_a_bad_media_id_is_a_friendly_422_and_an_unknown_one_a_404(client: TestClient) -> None:
    for bad in ("2WLI.1101", "%3Cscript%3E", "x" * 65):
        response = client.get(f"/projects/{bad}", headers=HTML)
        assert response.status_code == 422, bad
        assert "<code>invalid_media_id</code>" in response.text and "<script>" not in response.text
    missing = client.get("/projects/2WLI9999HD", headers=HTML)
    assert missing.status_code == 404 and "<code>not_found</code>" in missing.text


def test_admins_get_the_grant_forms_that_the_access_api_accepts(
    client: TestClient, settings: Settings
) -> None:
    submit(client, "2WLI1101HD.srt")
    add_persona(settings, "carol", "viewer")
    page = client.get("/projects/2WLI1101HD").text
    assert '<th scope="row" class="wrap">alice</th>' in page  # the uploader owns it
    assert 'data-api="/api/projects/2WLI1101HD/access/alice" data-method="DELETE"' in page
    assert 'aria-label="Revoke alice’s access"' in page
    asked = client.get("/projects/2WLI1101HD", params={"grant": " Carol "}).text
    assert 'data-api="/api/projects/2WLI1101HD/access/carol" data-method="PUT"' in asked
    assert '<select id="grant-role" name="role">' in asked
    # What app.js sends for that form ({"role": ...}) is what the API takes.
    put = client.put("/api/projects/2WLI1101HD/access/carol", json={"role": "editor"})
    assert put.status_code == 204
    assert '<th scope="row" class="wrap">carol</th>' in client.get("/projects/2WLI1101HD").text
    nobody = client.get("/projects/2WLI1101HD", params={"grant": HOSTILE}).text
    assert "There is no account called" in nobody and HOSTILE not in nobody


def test_a_viewer_reads_the_project_without_grants_or_forms(
    client: TestClient, settings: Settings
) -> None:
    submit(client, "2WLI1101HD.srt")
    viewer = bearer(add_persona(settings, "vera", "viewer"))
    page = client.get("/projects/2WLI1101HD?grant=vera", headers=viewer).text
    assert "Owned by alice." in page
    assert "data-api" not in page.split("<main", 1)[1].split("</main>")[0]
    assert "Give someone access" not in page and "Revoke" not in page
    assert client.get("/projects", headers=viewer).status_code == 200


def test_a_project_owner_without_a_global_role_manages_its_access(
    client: TestClient, settings: Settings
) -> None:
    submit(client, "2WLI1101HD.srt")
    owner = bearer(add_persona(settings, "olga", "viewer"))
    made_owner = client.put("/api/projects/2WLI1101HD/access/olga", json={"role": "owner"})
    assert made_owner.status_code == 204
    page = client.get("/projects/2WLI1101HD", headers=owner).text
    assert "Give someone access" in page and 'data-method="DELETE"' in page
    # The forms work for her: the API lets an owner manage the grants.
    assert client.delete("/api/projects/2WLI1101HD/access/alice", headers=owner).status_code == 204
    # Owning one Media ID gives nothing on another.
    submit(client, "6GWQ2402.srt")
    assert "Give someone access" not in client.get("/projects/6GWQ2402", headers=owner).text


def test_who_granted_access_is_escaped_even_when_it_is_a_hostile_key_name(
    client: TestClient, settings: Settings
) -> None:
    submit(client, "2WLI1101HD.srt")
    add_persona(settings, "carol", "viewer")
    conn = connect(settings.database_path)
    try:
        key, _row = create_key(
            conn, name=HOSTILE, role="admin", username="alice",
            keyring=load_keyring(settings), who=Who("test"), now=utcnow(),
        )  # fmt: skip
    finally:
        conn.close()
    granted = client.put(
        "/api/projects/2WLI1101HD/access/carol", json={"role": "viewer"}, headers=bearer(key)
    )
    assert granted.status_code == 204
    page = client.get("/projects/2WLI1101HD").text
    assert HOSTILE not in page and f"key:{html.escape(HOSTILE, quote=False)}" in page


def test_anonymous_browsers_are_sent_to_sign_in(anonymous: TestClient) -> None:
    response = anonymous.get("/projects/2WLI1101HD", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/projects")
