"""The audit log's action names: stable strings that searches, alerts and reports rely on."""

from __future__ import annotations

from enum import Enum


class Action(str, Enum):
    """Every kind of audit entry; the value is what is stored."""

    LOGIN = "auth.login"
    LOGIN_FAILED = "auth.login_failed"
    LOCKOUT = "auth.lockout"
    LOGOUT = "auth.logout"
    LOGIN_LINK_CREATED = "auth.login_link_created"
    PASSWORD_CHANGED = "auth.password_changed"
    ACCESS_DENIED = "auth.access_denied"
    ACCESS_PROVISIONED = "auth.access_provisioned"
    KEY_REJECTED = "auth.key_rejected"
    KEY_CREATED = "key.created"
    KEY_FIRST_USED = "key.first_used"
    KEY_REVOKED = "key.revoked"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_UNLOCKED = "user.unlocked"
    PROJECT_GRANTED = "project.granted"
    PROJECT_REVOKED = "project.revoked"
    TRANSCRIPT_SUBMITTED = "transcript.submitted"
    JOB_PAUSED = "job.paused"
    JOB_RESUMED = "job.resumed"
    JOB_CANCELLED = "job.cancelled"
    JOB_RETRIED = "job.retried"
    PHASE_RETRIED = "job.phase_retried"
    PRIORITY_CHANGED = "job.priority_changed"
    PRICES_REFRESHED = "config.prices_refreshed"
    SCHEMA_MIGRATED = "config.schema_migrated"
    SECRET_SET = "config.secret_set"
    DATABASE_RESTORED = "config.database_restored"


# The audit action for each job verb (HTTP and CLI alike).
JOB_ACTIONS = {
    "pause": Action.JOB_PAUSED,
    "resume": Action.JOB_RESUMED,
    "cancel": Action.JOB_CANCELLED,
    "retry": Action.JOB_RETRIED,
}
