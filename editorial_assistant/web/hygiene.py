"""HTTP hygiene around every route: proxy headers, security headers, body size limits, assets.

``X-Forwarded-*`` and ``Cf-Connecting-Ip`` are believed only from the local proxy, cloudflared: a
loopback peer or the Unix socket (where uvicorn gives no client at all); from anyone else they are
ignored, and a value that is not an IP address is never used. Every response gets the security
headers; the dashboard's policy allows no inline script or style, while ``swagger_ui_page`` and
``redoc_page`` (for ``/docs`` and ``/redoc``) carry their own, naming their CDN files and
hashing the inline script. A body longer than its route's limit is refused with 413 in the shared
error shape, whether ``Content-Length`` announces it or a chunked body streams past it.
``install_hygiene`` puts it all in place, with the middlewares in this order (outermost first):
trusted proxy headers, security headers, [the request-ID middleware], body size limit, routes.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from editorial_assistant.errors import AppError

UNIX_SOCKET_CLIENT = "unix"  # a local process on the Unix socket that named no client
UNKNOWN_CLIENT = "unknown"
UPLOAD_ROUTES = frozenset({("POST", "/api/transcripts")})
SWAGGER_JS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"
SWAGGER_CSS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"
REDOC_JS = "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"
FAVICON = "/static/favicon.svg"
BASE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000"


def content_security_policy(**overrides: str) -> str:
    """The dashboard's policy, with some directives replaced (``script_src=...``)."""
    directives = {**BASE_POLICY, **{k.replace("_", "-"): v for k, v in overrides.items()}}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


DEFAULT_POLICY = content_security_policy()


def client_address(scope: Scope) -> str:
    """The caller's IP address, from the local proxy's headers when the peer is that proxy."""
    if _from_local_proxy(scope):
        forwarded = _ip(_single_header(scope, b"cf-connecting-ip")) or _ip(_rightmost_xff(scope))
        if forwarded:
            return forwarded
    client = scope.get("client")
    if client is None:
        return UNIX_SOCKET_CLIENT if _from_local_proxy(scope) else UNKNOWN_CLIENT
    return _ip(str(client[0])) or UNKNOWN_CLIENT


def request_scheme(scope: Scope) -> str:
    """``https`` or ``http`` as the caller used it (``X-Forwarded-Proto`` from the local proxy)."""
    if _from_local_proxy(scope):
        proto = (_single_header(scope, b"x-forwarded-proto") or "").strip().lower()
        if proto in ("http", "https"):
            return proto
    return str(scope.get("scheme", "http"))


def _from_local_proxy(scope: Scope) -> bool:
    client, server = scope.get("client"), scope.get("server")
    if client is None:  # uvicorn on a Unix socket: the server has a path and no port
        return server is None or server[1] is None
    parsed = _parse_ip(str(client[0]))
    mapped = getattr(parsed, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
    return bool(parsed and (mapped or parsed).is_loopback)


def _ip(text: str | None) -> str | None:
    """``text`` as a canonical IP address, or None when it is not one (never echo a header)."""
    parsed = _parse_ip(text)
    return str(parsed) if parsed else None


def _parse_ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        parsed = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    return None if getattr(parsed, "scope_id", None) else parsed  # a zone is free text


def _single_header(scope: Scope, name: bytes) -> str | None:
    values = [value for key, value in scope.get("headers", ()) if key == name]
    return values[0].decode("latin-1") if len(values) == 1 else None


def _rightmost_xff(scope: Scope) -> str | None:
    """The entry the local proxy appended: anything to its left is the caller's own claim."""
    values = [
        value.decode("latin-1") for key, value in scope["headers"] if key == b"x-forwarded-for"
    ]
    return ",".join(values).split(",")[-1] if values else None


class TrustedProxyHeaders:
    """Rewrites ``scope["client"]`` and ``scope["scheme"]`` to the caller's, once per request.

    The peer as the server saw it stays in ``scope["state"]["peer"]``. Under gunicorn set
    ``forwarded_allow_ips = ""`` so uvicorn's own proxy middleware leaves them to this one.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.setdefault("state", {}) if scope["type"] == "http" else {"peer": None}
        if "peer" not in state:
            peer = state["peer"] = scope.get("client")
            address, scope["scheme"] = client_address(scope), request_scheme(scope)
            scope["client"] = (address, peer[1] if peer and peer[0] == address else 0)
        await self.app(scope, receive, send)


def security_headers(*, path: str, https: bool) -> dict[str, str]:
    """The headers every response carries (a route may set its own policy or caching)."""
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": DEFAULT_POLICY}
    if path == "/api" or path.startswith("/api/"):
        headers["Cache-Control"] = "no-store"
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeaders:
    """Adds ``security_headers`` to every response, errors and 404s included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(path=scope["path"], https=request_scheme(scope) == "https")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", ()))
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(Exception):
    """Raised from ``receive`` once a streamed body passes its limit (the 413 is already sent)."""


class BodySizeLimit:
    """Refuses bodies over ``max_body_bytes`` (``max_upload_bytes`` on the upload route)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app, self.max_body_bytes, self.max_upload_bytes = app, max_body_bytes, max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = (scope["method"], scope["path"]) in UPLOAD_ROUTES
        limit = self.max_upload_bytes if upload else self.max_body_bytes
        if (_content_length(scope) or 0) > limit:
            await too_large(scope, limit=limit)(scope, receive, send)
            return
        guard = _Guard(scope, receive, send, limit=limit)
        try:
            await self.app(scope, guard.receive, guard.send)
        except Exception:
            if not guard.answered:
                raise


class _Guard:
    """Counts body bytes; past the limit it answers 413 and drops whatever the app sends after."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, *, limit: int) -> None:
        self.scope, self._receive, self._send, self.limit = scope, receive, send, limit
        self.received, self.started, self.answered = 0, False, False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                if not (self.started or self.answered):
                    self.answered = True
                    await too_large(self.scope, limit=self.limit)(
                        self.scope, self._receive, self._send
                    )
                raise BodyTooLarge(f"request body over {self.limit} bytes")
        return message

    async def send(self, message: Message) -> None:
        if self.answered:
            return
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)


def _content_length(scope: Scope) -> int | None:
    value = _single_header(scope, b"content-length")
    return int(value) if value and value.strip().isdigit() else None


def too_large(scope: Scope, *, limit: int) -> JSONResponse:
    """The 413 in the shared error shape; the connection closes so the rest is not read."""
    error = AppError(
        f"The request body is larger than the {_size(limit)} this endpoint accepts.",
        code="payload_too_large",
        hint="Send a smaller body: caption files go to POST /api/transcripts, one per request.",
    )
    body = error.as_dict()
    body["error"]["request_id"] = scope.get("state", {}).get("request_id", "")
    return JSONResponse(body, status_code=413, headers={"Connection": "close"})


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MiB" if count >= 2**20 else f"{count:,} bytes"


def install_static(app: FastAPI) -> None:
    """Serve the package's ``web/static`` folder at ``/static``."""
    files = StaticFiles(packages=[("editorial_assistant.web", "static")])
    app.mount("/static", files, name="static")


def swagger_ui_page(*, openapi_url: str, title: str) -> HTMLResponse:
    """Swagger UI from pinned CDN files, under a policy allowing those and its init script."""
    page = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=title,
        swagger_js_url=SWAGGER_JS,
        swagger_css_url=SWAGGER_CSS,
        swagger_favicon_url=FAVICON,
        oauth2_redirect_url=None,
    )
    # Swagger UI's React sets inline styles at run time.
    return _with_policy(page, script_src=SWAGGER_JS, style_src=f"{SWAGGER_CSS} 'unsafe-inline'")


def redoc_page(*, openapi_url: str, title: str) -> HTMLResponse:
    """ReDoc from a pinned CDN file (no Google Fonts), under a policy allowing what it needs."""
    page = get_redoc_html(
        openapi_url=openapi_url,
        title=title,
        redoc_js_url=REDOC_JS,
        redoc_favicon_url=FAVICON,
        with_google_fonts=False,
    )
    # styled-components adds <style> elements; the search index runs in a Worker from a blob: URL.
    return _with_policy(page, script_src=REDOC_JS, style_src="'unsafe-inline'", worker_src="blob:")


def _with_policy(page: HTMLResponse, *, script_src: str, **directives: str) -> HTMLResponse:
    scripts = " ".join([script_src, *inline_script_hashes(bytes(page.body))])
    policy = content_security_policy(script_src=scripts, **directives)
    page.headers["Content-Security-Policy"] = policy
    return page


def inline_script_hashes(html: bytes) -> list[str]:
    """CSP hash sources (``'sha256-…'``) for each inline ``<script>`` in ``html``."""
    bodies = re.findall(rb"<script>(.*?)</script>", html, flags=re.DOTALL)
    digests = (base64.b64encode(hashlib.sha256(body).digest()).decode() for body in bodies)
    return [f"'sha256-{digest}'" for digest in digests]


def install_hygiene(app: FastAPI, *, max_body_bytes: int, max_upload_bytes: int) -> None:
    """Add the three middlewares and ``/static``.

    Call it after ``app.add_middleware(RequestIdMiddleware)``: the body limit goes inside that
    middleware (its 413 carries the request ID), the proxy and security headers outside it (so
    its own 500 gets the headers, and its access log sees the real client).
    """
    install_static(app)
    limit = Middleware(
        BodySizeLimit, max_body_bytes=max_body_bytes, max_upload_bytes=max_upload_bytes
    )
    app.user_middleware.append(limit)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(TrustedProxyHeaders)
