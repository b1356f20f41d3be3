"""The FastAPI application factory and the one error handler every response goes through.

Every 4xx/5xx leaves as ``{"error": {"code", "message", "hint"}}``: ``AppError`` subclasses,
request validation failures, unknown routes and wrong methods alike. Anything unexpected is
logged with its traceback and answered with a plain 500 that reveals nothing internal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from editorial_assistant import __version__
from editorial_assistant.config import Settings
from editorial_assistant.costs.router import router as costs_router
from editorial_assistant.db import Database, utcnow
from editorial_assistant.errors import AppError
from editorial_assistant.jobs.router import router as jobs_router
from editorial_assistant.jobs.tasks import JobQueue, make_huey
from editorial_assistant.ops.router import router as ops_router
from editorial_assistant.transcripts.router import router as transcripts_router
from editorial_assistant.web.router import router as web_router

log = logging.getLogger(__name__)
HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def create_app(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """Build the API for one set of settings."""
    app = FastAPI(
        title="Editorial Assistant",
        version=__version__,
        description="Caption files in, LLM-drafted editorial material out.",
    )
    app.state.settings = settings
    app.state.db = Database(settings.database_path)
    app.state.queue = JobQueue(make_huey(settings))
    app.state.clock = clock
    for router in (ops_router, transcripts_router, jobs_router, costs_router, web_router):
        app.include_router(router)
    install_error_handlers(app)
    return app


def install_error_handlers(app: FastAPI) -> None:
    """Render every failure in the shared error shape."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


def error_response(
    status: int, code: str, message: str, hint: str = "", details: dict[str, Any] | None = None
) -> JSONResponse:
    """A JSON response in the shared error shape."""
    return JSONResponse(
        AppError(message, code=code, hint=hint, details=details).as_dict(), status_code=status
    )


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return JSONResponse(exc.as_dict(), status_code=exc.status)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_describe_problem(error) for error in exc.errors()]
    return error_response(
        422, "invalid_request", "; ".join(problems), "Check the request against /openapi.json."
    )


def _describe_problem(error: dict[str, Any]) -> str:
    where = " ".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}"


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "Request failed."
    if exc.status_code == 404:
        message = f"There is nothing at {request.url.path}."
    return error_response(exc.status_code, code, message, "See /docs for the API.")


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500,
        "internal_error",
        "Something went wrong on our side.",
        "The service log has the details; try again or tell IT.",
    )
