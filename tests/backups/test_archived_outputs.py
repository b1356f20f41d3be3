"""An output the backup run archived answers 410 with where it went, never a 500."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from editorial_assistant.config import Settings
from editorial_assistant.worker import Worker
from tests.conftest import SRT, upload


def test_an_archived_or_lost_output_says_so(
    client: TestClient, settings: Settings, worker: Worker
) -> None:
    job_id = upload(client, "2WLI1209HD.srt", SRT).json()["job"]["id"]
    worker.run(job_id)
    seo = next(Path(settings.data_dir).rglob("seo.md"))
    seo.unlink()
    lost = client.get(f"/api/jobs/{job_id}/outputs/seo.md")
    assert lost.status_code == 410 and lost.json()["error"]["code"] == "output_missing"
    record = [
        {
            "archived_at": "2027-02-24T02:15:00Z",
            "restic_snapshot_id": "4f2a9c1e",
            "files": [{"path": str(seo.relative_to(settings.data_dir))}],
        }
    ]
    (seo.parent / "archived.json").write_text(json.dumps(record), encoding="utf-8")
    archived = client.get(f"/api/jobs/{job_id}/outputs/seo.md")
    assert archived.status_code == 410 and archived.json()["error"]["code"] == "output_archived"
    assert "2027-02-24" in archived.json()["error"]["message"] and "4f2a9c1e" in archived.text
