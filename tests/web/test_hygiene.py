"""HTTP hygiene through a small app built with ``install_hygiene`` and the real request-ID layer."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from editorial_assistant.app import RequestIdMiddleware, install_error_handlers
from editorial_assistant.web.hygiene import (
    SWAGGER_JS,
    client_address,
    install_hygiene,
    redoc_page,
    request_scheme,
    swagger_ui_page,
)

MAX_BODY = 1024
MAX_UPLOAD = 4096
CLOUDFLARED = ("127.0.0.1", 41000)
STRANGER = ("203.0.113.50", 52000)
EVERY_RESPONSE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cross-origin-opener-policy": "same-origin",
}


def small_app() -> FastAPI:
    """Routes of each kind, wrapped the way ``create_app`` wraps the real ones."""
    app = FastAPI(docs_url=None, redoc_url=None)

    @app.get("/", response_class=HTMLResponse)
    def home() -> str:
        return "<!doctype html><title>Home</title><p>Hello</p>"

    @app.get("/api/whoami")
    def whoami(request: Request) -> dict[str, Any]:
        assert request.client is not None
        return {"client": request.client.host, "scheme": request.url.scheme}

    @app.post("/api/notes")
    def notes(note: dict[str, Any]) -> dict[str, int]:
        return {"keys": len(note)}

    @app.post("/api/transcripts")
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("unexpected")

    @app.get("/docs", response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return swagger_ui_page(openapi_url="/openapi.json", title="Docs")

    @app.get("/redoc", response_class=HTMLResponse)
    def redoc() -> HTMLResponse:
        return redoc_page(openapi_url="/openapi.json", title="Docs")

    install_error_handlers(app)
    app.add_middleware(RequestIdMiddleware)
    install_hygiene(app, max_body_bytes=MAX_BODY, max_upload_bytes=MAX_UPLOAD)
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(small_app(), client=STRANGER, raise_server_exceptions=False) as client:
        yield client


def client_from(peer: tuple[str, int], *, base_url: str = "http://testserver") -> TestClient:
    return TestClient(small_app(), client=peer, base_url=base_url, raise_server_exceptions=False)


def over_unix_socket(app: ASGIApp) -> ASGIApp:
    """What uvicorn under gunicorn hands the app for a Unix-socket request: no client at all."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["client"], scope["server"] = None, ("/run/editorial-assistant/api.sock", None)
        await app(scope, receive, send)

    return wrapped


def chunks(size: int, *, piece: int = 256) -> Iterator[bytes]:
    for start in range(0, size, piece):
        yield b"x" * min(piece, size - start)


def assert_refused_as_too_large(response: Any) -> None:
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert error["message"] and error["hint"]
    assert error["request_id"] == response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/", 200), ("GET", "/nowhere", 404), ("GET", "/api/boom", 500)],
)
def test_every_response_carries_the_security_headers(
    client: TestClient, method: str, path: str, status: int
) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    for name, value in EVERY_RESPONSE.items():
        assert response.headers[name] == value
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers


def test_the_dashboard_policy_allows_no_inline_script_or_style(client: TestClient) -> None:
    policy = client.get("/").headers["content-security-policy"]
    assert "unsafe-inline" not in policy
    for directive in ("script-src 'self'", "style-src 'self'", "object-src 'none'"):
        assert directive in policy
    for directive in ("base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"):
        assert directive in policy


def test_api_responses_are_not_stored_but_pages_may_be(client: TestClient) -> None:
    assert client.get("/api/whoami").headers["cache-control"] == "no-store"
    assert client.get("/api/missing").headers["cache-control"] == "no-store"
    assert "cache-control" not in client.get("/").headers


def test_the_swagger_page_policy_allows_its_cdn_files_and_exactly_its_init_script(
    client: TestClient,
) -> None:
    response = client.get("/docs")
    policy = directives(response.headers["content-security-policy"])
    init = re.search(rb"<script>(.*?)</script>", response.content, flags=re.DOTALL)
    assert init is not None
    digest = base64.b64encode(hashlib.sha256(init[1]).digest()).decode()
    assert policy["script-src"] == f"{SWAGGER_JS} 'sha256-{digest}'"
    assert "swagger-ui.css" in policy["style-src"]
    for url in re.findall(r'(?:src|href)="(https://[^"]+)"', response.text):
        assert url in policy["script-src"] + policy["style-src"], url
    assert policy["frame-ancestors"] == "'none'"


def test_the_redoc_page_policy_allows_its_script_and_its_search_worker(client: TestClient) -> None:
    response = client.get("/redoc")
    policy = directives(response.headers["content-security-policy"])
    assert policy["script-src"].startswith("https://cdn.jsdelivr.net/npm/redoc@2/")
    assert policy["worker-src"] == "blob:"
    assert "fonts.googleapis.com" not in response.text


def directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def test_hsts_is_sent_only_for_https_from_the_local_proxy() -> None:
    https = {"X-Forwarded-Proto": "https"}
    with client_from(CLOUDFLARED) as local:
        answer = local.get("/api/whoami", headers=https)
        assert answer.headers["strict-transport-security"] == "max-age=31536000"
        assert answer.json()["scheme"] == "https"
    with client_from(STRANGER) as stranger:
        answer = stranger.get("/api/whoami", headers=https)
        assert "strict-transport-security" not in answer.headers
        assert answer.json()["scheme"] == "http"
    with client_from(STRANGER, base_url="https://testserver") as direct_tls:
        assert "strict-transport-security" in direct_tls.get("/api/whoami").headers


def test_the_local_proxy_names_the_client() -> None:
    forwarded = {"Cf-Connecting-Ip": "198.51.100.7", "X-Forwarded-For": "10.9.9.9, 192.0.2.1"}
    with client_from(CLOUDFLARED) as local:
        assert local.get("/api/whoami", headers=forwarded).json()["client"] == "198.51.100.7"
        only_xff = {"X-Forwarded-For": "10.9.9.9, 192.0.2.1"}
        assert local.get("/api/whoami", headers=only_xff).json()["client"] == "192.0.2.1"
        assert local.get("/api/whoami").json()["client"] == "127.0.0.1"


def test_forged_proxy_headers_from_anyone_else_are_ignored(client: TestClient) -> None:
    forged = {"Cf-Connecting-Ip": "198.51.100.7", "X-Forwarded-For": "127.0.0.1"}
    assert client.get("/api/whoami", headers=forged).json()["client"] == STRANGER[0]


def test_header_values_that_are_not_addresses_are_never_used() -> None:
    junk = {"Cf-Connecting-Ip": "<script>", "X-Forwarded-For": "192.0.2.1, evil"}
    with client_from(CLOUDFLARED) as local:
        assert local.get("/api/whoami", headers=junk).json()["client"] == "127.0.0.1"
        scoped = {"Cf-Connecting-Ip": "fe80::1%<b>"}
        assert local.get("/api/whoami", headers=scoped).json()["client"] == "127.0.0.1"


def test_the_unix_socket_is_trusted_like_loopback() -> None:
    forwarded = {"Cf-Connecting-Ip": "2001:db8::7", "X-Forwarded-Proto": "https"}
    with TestClient(over_unix_socket(small_app())) as local:
        answer = local.get("/api/whoami", headers=forwarded)
        assert answer.json() == {"client": "2001:db8::7", "scheme": "https"}
        assert "strict-transport-security" in answer.headers
        assert local.get("/api/whoami").json()["client"] == "unix"


def test_the_helpers_read_a_raw_scope() -> None:
    scope = {
        "type": "http",
        "client": ("::ffff:127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "scheme": "http",
        "headers": [(b"x-forwarded-for", b"192.0.2.9"), (b"x-forwarded-proto", b"https")],
    }
    assert client_address(scope) == "192.0.2.9"
    assert request_scheme(scope) == "https"
    scope["client"] = ("192.0.2.200", 5000)
    assert client_address(scope) == "192.0.2.200"
    assert request_scheme(scope) == "http"


def test_an_oversize_content_length_is_refused_before_the_route_runs(client: TestClient) -> None:
    response = client.post("/api/notes", json={"text": "x" * MAX_BODY})
    assert_refused_as_too_large(response)
    assert response.headers["connection"] == "close"


def test_an_oversize_chunked_body_is_cut_off_with_413(client: TestClient) -> None:
    response = client.post(
        "/api/notes", content=chunks(MAX_BODY * 3), headers={"Content-Type": "application/json"}
    )
    assert_refused_as_too_large(response)


def test_the_upload_route_has_its_own_larger_limit(client: TestClient) -> None:
    accepted = client.post("/api/transcripts", content=chunks(MAX_UPLOAD))
    assert accepted.json() == {"bytes": MAX_UPLOAD}
    assert_refused_as_too_large(client.post("/api/transcripts", content=b"x" * (MAX_UPLOAD + 1)))
    assert_refused_as_too_large(client.post("/api/transcripts", content=chunks(MAX_UPLOAD + 1)))


def test_a_body_within_the_limit_reaches_the_route(client: TestClient) -> None:
    assert client.post("/api/notes", json={"a": 1, "b": 2}).json() == {"keys": 2}
