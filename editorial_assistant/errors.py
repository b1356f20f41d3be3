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
