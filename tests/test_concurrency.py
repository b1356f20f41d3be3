"""Concurrent requests never share a database connection."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from tests.conftest import SRT, upload


def test_concurrent_uploads_all_succeed(client: TestClient) -> None:
    def submit(n: int) -> int:
        return int(upload(client, f"2WLI{n:04d}HD.srt", SRT).status_code)

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(submit, range(80)))
    assert statuses == [201] * 80
    assert client.get("/api/jobs").json()["total"] == 80
