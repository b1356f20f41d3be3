"""POST /api/transcripts: what is accepted, what is refused, and that refusals leave no trace."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from editorial_assistant.config import Settings
from tests.conftest import SRT, admin_client, make_settings, upload


def stored_files(settings: Settings) -> list[Path]:
    folder = settings.data_dir / "transcripts"
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def row_count(settings: Settings, table: str) -> int:
    with sqlite3.connect(settings.database_path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_it_accepts_an_srt_file_and_queues_a_job(client: TestClient, settings: Settings) -> None:
    response = upload(client, "2WLI1209HD_ForClaude.srt", SRT, priority="5")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["transcript"]["media_id"] == "2WLI1209HD"
    assert body["transcript"]["format"] == "srt"
    assert body["transcript"]["word_count"] == 10
    assert body["transcript"]["duration_seconds"] == pytest.approx(11.0)
    assert body["job"]["status"] == "queued" and body["job"]["priority"] == 5
    job = client.get(f"/api/jobs/{body['job']['id']}").json()
    assert [p["name"] for p in job["phases"]] == [
        "analyst",
        "formatter",
        "seo",
        "manager",
        "timestamp",
    ]


def test_it_stores_the_original_bytes_untouched(client: TestClient, settings: Settings) -> None:
    data = "\ufeff".encode() + SRT.replace("Welcome", "Caf\u00e9").encode("utf-8")
    upload(client, "2WLI1210HD.srt", data)
    [stored] = stored_files(settings)
    assert stored.read_bytes() == data


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        (
            "x.scc",
            b"Scenarist_SCC V1.0\r\n\r\n00:00:30:23\t9425 942c 94ad\r\n",
            415,
            "scc_not_supported",
        ),
        ("x.srt", b"", 422, "empty_file"),
        ("x.srt", b"\x00\x01\x02binary\x00" * 50, 415, "binary_file"),
    ],
)
def test_it_refuses_bad_files_and_stores_nothing(
    client: TestClient, settings: Settings, name: str, data: bytes, status: int, code: str
) -> None:
    response = upload(client, name, data)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert stored_files(settings) == []
    assert row_count(settings, "transcripts") == row_count(settings, "jobs") == 0


def test_it_refuses_an_oversize_file(tmp_path: Path) -> None:
    from editorial_assistant.db import migrate

    settings = make_settings(tmp_path, EA_INTAKE_MAX_UPLOAD_BYTES="2000")
    migrate(settings.database_path)
    with admin_client(settings) as client:
        response = upload(client, "big.srt", SRT * 40)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert stored_files(settings) == []


def test_a_duplicate_media_id_names_the_existing_job(client: TestClient) -> None:
    first = upload(client, "2WLI1209HD.srt", SRT).json()
    response = upload(client, "2WLI1209HD_ForClaude.txt", SRT)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "duplicate_media_id"
    assert f"job {first['job']['id']}" in error["message"]
    assert error["details"] == {"existing_job_id": first["job"]["id"]}
    forced = upload(client, "2WLI1209HD_ForClaude.txt", SRT, force="true")
    assert forced.status_code == 201


def test_a_hostile_file_name_never_reaches_a_path(client: TestClient, settings: Settings) -> None:
    response = upload(client, "../../../../etc/cron.d/evil.srt", SRT)
    assert response.status_code == 201
    [stored] = stored_files(settings)
    assert stored.resolve().is_relative_to(settings.data_dir.resolve())
    assert ".." not in response.json()["transcript"]["media_id"]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"priority": "1000"}, "priority"),
        ({"priority": "high"}, "priority"),
        ({"force": "perhaps"}, "force"),
    ],
)
def test_it_rejects_bad_form_fields(
    client: TestClient, settings: Settings, form: dict[str, str], message: str
) -> None:
    response = upload(client, "2WLI1209HD.srt", SRT, **form)
    assert response.status_code == 422
    assert message in response.json()["error"]["message"]
    assert stored_files(settings) == []


def test_every_corpus_file_is_accepted_or_refused_for_the_right_reason(
    client: TestClient, corpus: Path
) -> None:
    for path in sorted(corpus.iterdir()):
        response = upload(client, path.name, path.read_bytes(), force="true")
        if "scc" in path.name:
            assert response.status_code == 415, path.name
            continue
        assert response.status_code == 201, (path.name, response.text)
        transcript = response.json()["transcript"]
        assert transcript["word_count"] > 10, path.name
        assert transcript["duration_seconds"] > 5, path.name
