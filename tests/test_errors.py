"""One error shape for every failure, and no 500 for anything a client can send."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request

from editorial_assistant import errors
from editorial_assistant.app import _app_error
from editorial_assistant.llm.client import LLMError


def all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *all_subclasses(sub)]
    return found


SHAPE = {"code", "message", "hint"}


def assert_error_shape(body: dict[str, object]) -> None:
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error, dict)
    assert SHAPE <= set(error) <= {*SHAPE, "details", "request_id"}
    assert error["code"] and error["message"]


@pytest.mark.parametrize(
    "cls", [errors.AppError, *all_subclasses(errors.AppError)], ids=lambda cls: cls.__name__
)
def test_every_app_error_renders_in_the_shared_shape(cls: type[errors.AppError]) -> None:
    assert LLMError in all_subclasses(errors.AppError)
    request = Request({"type": "http", "method": "GET", "path": "/api/x", "headers": []})
    response = asyncio.run(_app_error(request, cls("something was wrong")))
    assert response.status_code == cls.status and 400 <= response.status_code < 600
    body = json.loads(response.body)
    assert_error_shape(body)
    assert body["error"]["message"] == "something was wrong"
    assert body["error"]["code"] == cls.code


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/nowhere", 404, "not_found"),
        ("DELETE", "/api/jobs", 405, "method_not_allowed"),
        ("GET", "/api/jobs/abc", 422, "invalid_request"),
        ("GET", "/api/jobs/0", 422, "invalid_request"),
        ("GET", "/api/jobs/99999999999999999999999", 422, "invalid_request"),
        ("GET", "/api/jobs/12345", 404, "not_found"),
        ("GET", "/api/jobs?limit=100000", 422, "invalid_request"),
        ("GET", "/api/jobs?status=exploded", 422, "invalid_input"),
        ("POST", "/api/jobs/1/explode", 422, "invalid_request"),
        ("POST", "/api/jobs/1/cancel", 404, "not_found"),
        ("GET", "/api/jobs/1/outputs/..%2F..%2Fetc%2Fpasswd", 404, "not_found"),
        ("POST", "/api/transcripts", 422, "invalid_request"),
    ],
)
def test_bad_requests_get_a_clear_error_in_the_shared_shape(
    client: TestClient, method: str, path: str, status: int, code: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == status, response.text
    assert_error_shape(response.json())
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["request_id"] == response.headers["X-Request-ID"]


def test_an_unexpected_error_is_a_plain_500_without_a_traceback(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]  # TestClient wraps our FastAPI app

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("secret internals at /var/lib/x")

    response = client.get("/api/boom")
    assert response.status_code == 500
    assert_error_shape(response.json())
    assert response.json()["error"]["request_id"] == response.headers["X-Request-ID"]
    assert "secret internals" not in response.text and "Traceback" not in response.text


def test_the_queue_page_lists_jobs_with_escaped_text(client: TestClient) -> None:
    from tests.conftest import SRT, upload

    upload(client, "<script>alert(1)</script>.srt", SRT)
    page = client.get("/")
    assert page.status_code == 200 and "<h1>Queue</h1>" in page.text
    assert "<script>" not in page.text
