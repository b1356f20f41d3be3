"""The FastAPI application factory and the one error handler every response goes through.

Every 4xx/5xx leaves as ``{"error": {"code", "message", "hint", "request_id"}}``: ``AppError``
subclasses, request validation failures, unknown routes and wrong methods alike. Every request
gets an ID (the client's ``X-Request-ID`` when it is a sane token), logged as ``REQUEST_ID`` and
returned in the ``X-Request-ID`` header. Anything unexpected is logged once with its traceback
and answered with a plain 500 that reveals nothing internal.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from editorial_assistant import __version__
from editorial_assistant.audit.router import router as audit_router
from editorial_assistant.auth.admin_router import router as admin_router
from editorial_assistant.auth.control import AccessControl
from editorial_assistant.auth.router import router as auth_router
from editorial_assistant.auth.rules import LoginRequired
from editorial_assistant.backups.router import router as backups_router
from editorial_assistant.config import Settings
from editorial_assistant.costs.router import router as costs_router
from editorial_assistant.db import Database, utcnow
from editorial_assistant.errors import AppError
from editorial_assistant.jobs.router import router as jobs_router
from editorial_assistant.jobs.tasks import JobQueue, make_huey
from editorial_assistant.logs import log_context
from editorial_assistant.monitoring.metrics import RequestMetrics, RequestMetricsMiddleware
from editorial_assistant.monitoring.router import router as monitoring_router
from editorial_assistant.ops.router import router as ops_router
from editorial_assistant.patterns import describe as describe_pattern
from editorial_assistant.transcripts.router import router as transcripts_router
from editorial_assistant.web.docs import router as docs_router
from editorial_assistant.web.errors import error_page, wants_page
from editorial_assistant.web.hygiene import install_hygiene
from editorial_assistant.web.live import end_streams_on_exit
from editorial_assistant.web.router import router as web_router

log = logging.getLogger(__name__)
HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def create_app(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """Build the API for one set of settings."""
    app = FastAPI(
        lifespan=_lifespan,
        title="Editorial Assistant",
        version=__version__,
        description="Caption files in, LLM-drafted editorial material out.",
        openapi_url=None,  # served by web.docs behind sign-in
        docs_url=None,
        redoc_url=None,
    )
    # No trailing-slash redirects: Starlette builds them from the Host header the caller sent.
    app.router.redirect_slashes = False
    app.state.settings = settings
    app.state.access = AccessControl(settings)
    app.state.db = Database(settings.database_path)
    app.state.queue = JobQueue(make_huey(settings))
    app.state.clock = clock
    routers = (
        ops_router,
        auth_router,
        admin_router,
        audit_router,
        transcripts_router,
        jobs_router,
        costs_router,
        backups_router,
        monitoring_router,
        docs_router,
        web_router,
    )
    for router in routers:
        app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(RequestIdMiddleware)
    install_hygiene(
        app,
        max_body_bytes=settings.api.max_body_bytes,
        max_upload_bytes=settings.intake.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
    )
    # Outermost, so it times and counts every answer, the other middlewares' included.
    app.state.metrics = RequestMetrics()
    app.add_middleware(RequestMetricsMiddleware, metrics=app.state.metrics)
    return app


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    end_streams_on_exit()
    yield


# Room for the multipart framing and form fields around an uploaded caption file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class RequestIdMiddleware:
    """Runs each request under its ID and answers an unexpected error with the plain 500.

    Answering here, rather than in a Starlette ``Exception`` handler, keeps the error from being
    re-raised to the server, which would log the same traceback a second time.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope).get("x-request-id"))
        scope.setdefault("state", {})["request_id"] = request_id
        started = False
        status = 500
        began = time.monotonic()

        async def send_with_id(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                message.setdefault("headers", [])
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        with log_context(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                if started:  # too late to answer: the server logs it and drops the connection
                    raise
                response = await _unexpected_error(Request(scope), exc)
                await response(scope, receive, send_with_id)
            finally:
                _access(scope, status, time.monotonic() - began)


access_log = logging.getLogger("editorial_assistant.access")
# Health probes (the watchdog asks every few seconds) are logged at DEBUG only.
QUIET_PATHS = ("/healthz", "/readyz")


def _access(scope: Scope, status: int, seconds: float) -> None:
    """One line per request, carrying its REQUEST_ID: method, path, status and duration."""
    path = scope.get("path", "")
    level = logging.DEBUG if path in QUIET_PATHS else logging.INFO
    if status >= 500:
        level = logging.WARNING  # the error itself is logged once, with its traceback
    access_log.log(level, "%s %s %d %.0f ms", scope.get("method"), path, status, seconds * 1000)


def request_id_from(header: str | None) -> str:
    """The client's request ID when it is a sane token, else a fresh one."""
    if header and SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def install_error_handlers(app: FastAPI) -> None:
    """Render every failure in the shared error shape (unexpected ones: ``RequestIdMiddleware``)."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    hint: str = "",
    details: dict[str, Any] | None = None,
) -> Response:
    """A response in the shared error shape: JSON, or the same as a page for a browser."""
    return _render(request, AppError(message, code=code, hint=hint, details=details), status)


def _render(request: Request, error: AppError, status: int) -> Response:
    body = error.as_dict()
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["error"]["request_id"] = request_id
    if wants_page(request):
        return error_page(request, error, status=status, request_id=request_id)
    return JSONResponse(body, status_code=status)


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    response = _render(request, exc, exc.status)
    response.headers.update(exc.headers)
    return response


async def _login_required(request: Request, exc: Exception) -> RedirectResponse:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"/login?next={quote(exc.path)}", status_code=303)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [_describe_problem(error) for error in exc.errors()]
    hint = "Check the request against /openapi.json."
    if _not_json(request, exc.errors()):
        hint = "This endpoint takes a JSON body: send it with Content-Type: application/json."
    return error_response(request, 422, "invalid_request", "; ".join(problems), hint)


def _not_json(request: Request, errors: Any) -> bool:
    """Whether a JSON body was refused because something else was sent."""
    shapes = {"dict_type", "model_attributes_type", "json_invalid"}
    wrong = any(e.get("loc", ())[:1] == ("body",) and e.get("type") in shapes for e in errors)
    return wrong and "json" not in request.headers.get("content-type", "")


def _describe_problem(error: dict[str, Any]) -> str:
    where = " ".join(str(part) for part in error.get("loc", ()))
    if error.get("type") == "string_pattern_mismatch":
        words = describe_pattern(str(error.get("ctx", {}).get("pattern", "")))
        if words:
            return f"{where}: must be {words}"
    return f"{where}: {error.get('msg', 'invalid')}"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "Request failed."
    if exc.status_code == 404:
        message = f"There is nothing at {request.url.path}."
    return error_response(request, exc.status_code, code, message, "See /docs for the API.")


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        request,
        500,
        "internal_error",
        "Something went wrong on our side.",
        "The service log has the details under this request_id; try again or tell IT.",
    )
