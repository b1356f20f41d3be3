"""Errors as a browser sees them: the same status, code, message and hint as the API's JSON,
on a page with the dashboard's frame (``templates/error.html``)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from editorial_assistant.errors import AppError
from editorial_assistant.web.render import page

TITLES = {
    400: "That request was not understood",
    401: "Please sign in",
    403: "You may not do this",
    404: "Not found",
    405: "Not allowed here",
    409: "That cannot be done now",
    413: "That is too large",
    415: "That kind of file is not accepted",
    422: "That request was not understood",
    429: "Too many requests",
    503: "The service is not ready",
}


PAGE_HINTS = {
    404: "The queue lists every job: search it by Media ID or file name.",
    409: "Reload the page to see where things stand now.",
}


def wants_page(request: Request) -> bool:
    """Whether a browser is navigating to a page (not calling the API or fetching a stream)."""
    accept = request.headers.get("accept", "")
    return not request.url.path.startswith("/api/") and "text/html" in accept


def error_page(
    request: Request, error: AppError, *, status: int, request_id: str | None
) -> HTMLResponse:
    """The friendly page for an error the API would answer with ``status`` and its code."""
    hint = error.hint
    if error.code == "invalid_request":
        hint = "Check the address: the link may be out of date or mistyped."
    elif "/api/" in hint or "openapi" in hint.lower():  # advice for API callers, not readers
        hint = PAGE_HINTS.get(status, "")
    return page(
        request,
        "error.html",
        status_code=status,
        title=TITLES.get(status, "Something went wrong"),
        http_status=status,
        code=error.code,
        message=error.message,
        hint=hint,
        request_id=request_id,
    )
