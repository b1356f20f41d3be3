"""Small refusals a user meets: a JSON endpoint sent a form, a file name that hides its text."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_a_form_sent_to_a_json_endpoint_is_told_to_send_json(client: TestClient) -> None:
    response = client.post("/api/users", data={"username": "x", "role": "viewer"})
    assert response.status_code == 422
    assert "Content-Type: application/json" in response.json()["error"]["hint"]


def test_a_file_name_with_a_right_to_left_override_is_refused(client: TestClient) -> None:
    name = "2WLI1209HD\u202etrs.exe"
    response = client.post("/api/transcripts", files={"file": (name, "Speaker: hello\n")})
    assert response.status_code == 422
    assert "invisible formatting characters" in response.json()["error"]["message"]
    assert client.get("/api/jobs").json()["total"] == 0
