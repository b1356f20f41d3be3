"""What ``GET /api/audit`` returns."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class AuditEntry(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    resource_type: str | None
    resource_id: str | None
    details: dict[str, Any]
    ip: str | None
    request_id: str | None


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next_before: int | None
