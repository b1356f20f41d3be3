"""What the sign-in, account, key and grant endpoints accept and return."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["viewer", "editor", "admin"]


class StrictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(StrictIn):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class PasswordIn(StrictIn):
    current_password: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="Required once the account has a password (not after a first link sign-in).",
    )
    new_password: str = Field(min_length=1, max_length=256)


class UserIn(StrictIn):
    username: str = Field(min_length=1, max_length=64)
    role: Role
    email: str | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, min_length=1, max_length=256)


class UserPatch(StrictIn):
    role: Role | None = None
    disabled: bool | None = None
    email: str | None = Field(default=None, max_length=320)


class UserOut(BaseModel):
    id: int
    username: str
    email: str | None
    role: str
    disabled: bool
    has_password: bool
    locked_until: str | None
    created_at: str
    last_login_at: str | None


class MeOut(BaseModel):
    name: str
    role: str
    via: str
    csrf_token: str | None = Field(description="Send as X-CSRF-Token with browser writes.")


class KeyIn(StrictIn):
    name: str = Field(min_length=1, max_length=80)
    role: Role
    user: str | None = Field(default=None, max_length=64, description="Owning account.")
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class KeyOut(BaseModel):
    id: int
    prefix: str
    name: str
    role: str
    user: str | None
    created_by: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None
    last_used_ip: str | None


class NewKeyOut(KeyOut):
    key: str = Field(description="The key itself: shown this once, never again.")


class GrantIn(StrictIn):
    role: Literal["viewer", "editor", "owner"]


class GrantOut(BaseModel):
    username: str
    role: str
    granted_by: str
    granted_at: str


class LinkOut(BaseModel):
    url: str
    expires_in_hours: int
