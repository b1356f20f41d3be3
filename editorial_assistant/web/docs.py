"""The OpenAPI document and its interactive pages, for signed-in callers only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from editorial_assistant.auth.rules import allow
from editorial_assistant.web.hygiene import redoc_page, swagger_ui_page

router = APIRouter(include_in_schema=False)


@router.get("/openapi.json", dependencies=[allow("viewer")])
def openapi(request: Request) -> dict[str, Any]:
    """The OpenAPI description of every endpoint."""
    return request.app.openapi()


@router.get("/docs", response_class=HTMLResponse, dependencies=[allow("viewer", page=True)])
def swagger() -> HTMLResponse:
    """Swagger UI over the OpenAPI document."""
    return swagger_ui_page(openapi_url="/openapi.json", title="Editorial Assistant API")


@router.get("/redoc", response_class=HTMLResponse, dependencies=[allow("viewer", page=True)])
def redoc() -> HTMLResponse:
    """ReDoc over the OpenAPI document."""
    return redoc_page(openapi_url="/openapi.json", title="Editorial Assistant API")
