"""The one error family: every failure a user or operator can see is an ``AppError``.

Each error carries an HTTP status, a stable machine-readable ``code``, a message saying what was
wrong, and a ``hint`` saying what to do about it. Domains subclass it; the handlers in ``app.py``
render it as ``{"error": {"code", "message", "hint"}}``.
"""

from __future__ import annotations

from pydantic import BaseModel


class AppError(Exception):
    """Base for every error shown to a client or an operator."""

    status: int = 400
    code: str = "bad_request"
    hint: str = ""
    headers: dict[str, str] = {}  # noqa: RUF012  # extra response headers, never mutated

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        status: int | None = None,
        details: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code
        if hint is not None:
            self.hint = hint
        if status is not None:
            self.status = status

    def as_dict(self) -> dict[str, dict[str, object]]:
        """The JSON error shape shared by every endpoint (``details`` only when there are any)."""
        body: dict[str, object] = {"code": self.code, "message": self.message, "hint": self.hint}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class InvalidInput(AppError):
    status = 422
    code = "invalid_input"


class TranscriptRejected(AppError):
    """A caption file we will not accept; ``code`` says why (``scc_not_supported``, …)."""

    status = 422
    code = "transcript_rejected"
    hint = "Upload an SRT caption file, a timecoded editor export, or a plain-text transcript."


class InvalidTransition(Conflict):
    code = "invalid_transition"


class Unauthenticated(AppError):
    """No credentials, or credentials that prove nothing (401)."""

    status = 401
    code = "unauthenticated"
    headers = {"WWW-Authenticate": 'Bearer realm="editorial-assistant"'}  # noqa: RUF012  # read only


class Forbidden(AppError):
    """The caller is known but may not do this (403)."""

    status = 403
    code = "forbidden"


class RateLimited(AppError):
    """Too many requests; ``Retry-After`` says when to try again (429)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 60, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]  # the base's keywords
        self.headers = {"Retry-After": str(retry_after)}


class ConfigError(AppError):
    """A setting with a bad value; raised before anything starts."""

    status = 500
    code = "config_invalid"


class SchemaTooNew(AppError):
    status = 503
    code = "schema_too_new"
    hint = (
        "Reinstall the newer editorial-assistant package that wrote this database, or restore "
        "the snapshot taken before that upgrade (data folder, snapshots/pre-migrate-*.db); "
        "see docs/guides/upgrade.md."
    )


class NotReady(AppError):
    status = 503
    code = "not_ready"


class ErrorBody(BaseModel):
    code: str
    message: str
    hint: str
    details: dict[str, object] | None = None


class ErrorOut(BaseModel):
    """The error shape, for the OpenAPI document."""

    error: ErrorBody
