"""Alerts: conditions that notify once when they start and once when they clear.

The backup run, the restore drill and the monitor observe conditions (``Condition``: a stable
key such as ``backup.failed``, whether it is breaching now, and a sentence for people) and hand
them to ``observe``. The ``alerts`` table remembers each condition, so a notice goes out only on
a change: ``firing`` when a condition starts breaching, ``resolved`` once it has stayed clear for
``alerts.resolve_after_minutes`` (an event such as a failed run that a later good run clears
resolves at once). Each notice is logged to the journal with a stable ``MESSAGE_ID`` and queued
for every configured channel in ``alert_notifications``; ``deliver_pending`` (in
``monitoring.channels``) sends them, and tries a failed delivery again later.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, cast

from editorial_assistant.config import Settings
from editorial_assistant.db import timestamp, transaction

log = logging.getLogger(__name__)

Severity = Literal["warning", "critical"]
Event = Literal["firing", "resolved"]
# journald MESSAGE_IDs (128-bit, stable): `journalctl MESSAGE_ID=<id>` lists every such notice.
MESSAGE_IDS = {"firing": "8e7fe981a0d1458f9cfc6901fdae1d14",
               "resolved": "54ed239404444c92b4e294c564c15ed9"}  # fmt: skip
LEVELS = {"warning": logging.WARNING, "critical": logging.ERROR}


@dataclass(frozen=True)
class Condition:
    """One observation: is ``key`` breaching now, and what to tell people about it."""

    key: str
    breaching: bool
    summary: str
    severity: Severity = "warning"
    settles: bool = True  # False: an event, resolved as soon as it is observed clear


@dataclass(frozen=True)
class Notice:
    """A change of an alert's state, as it is sent."""

    key: str
    event: Event
    severity: Severity
    summary: str
    at: datetime


def channels(settings: Settings) -> list[str]:
    """The channels notices go to: the journal always, then the ones configured."""
    alerts = settings.alerts
    return ["journal"] + ["webhook"] * bool(alerts.webhook_url) + ["email"] * bool(alerts.email_to)


def observe(
    conn: sqlite3.Connection, *, settings: Settings, conditions: Iterable[Condition], now: datetime
) -> list[Notice]:
    """Record the observations; queue and log a notice for each alert that changed state."""
    settle = timedelta(minutes=settings.alerts.resolve_after_minutes)
    notices = []
    with transaction(conn):
        for condition in conditions:
            notice = _observe_one(conn, condition, now=now, settle=settle)
            if notice is not None:
                _queue(conn, notice, channels(settings))
                notices.append(notice)
    for notice in notices:
        _log(notice)
    return notices


def _observe_one(
    conn: sqlite3.Connection, condition: Condition, *, now: datetime, settle: timedelta
) -> Notice | None:
    row = conn.execute("SELECT * FROM alerts WHERE key = ?", (condition.key,)).fetchone()
    at = timestamp(now)
    if row is None:
        state = "firing" if condition.breaching else "ok"
        conn.execute(
            "INSERT INTO alerts (key, state, severity, summary, breaching, observed_since, "
            "state_since, evaluated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (condition.key, state, condition.severity, condition.summary,
             int(condition.breaching), at, at, at),
        )  # fmt: skip
        return _notice(condition, "firing", now) if condition.breaching else None
    since = row["observed_since"] if bool(row["breaching"]) == condition.breaching else at
    state, event = row["state"], cast("Event | None", None)
    if condition.breaching and state == "ok":
        state, event = "firing", "firing"
    elif not condition.breaching and state == "firing":
        settled = not condition.settles or since <= timestamp(now - settle)
        state, event = ("ok", "resolved") if settled else (state, None)
    summary = condition.summary if condition.breaching or event else row["summary"]
    conn.execute(
        "UPDATE alerts SET state = ?, severity = ?, summary = ?, breaching = ?, "
        "observed_since = ?, state_since = CASE WHEN state = ? THEN state_since ELSE ? END, "
        "evaluated_at = ? WHERE key = ?",
        (state, condition.severity, summary, int(condition.breaching), since, state, at, at,
         condition.key),
    )  # fmt: skip
    return _notice(condition, event, now, summary) if event else None


def _notice(condition: Condition, event: Event, now: datetime, summary: str = "") -> Notice:
    return Notice(condition.key, event, condition.severity, summary or condition.summary, now)


def _queue(conn: sqlite3.Connection, notice: Notice, names: list[str]) -> None:
    for channel in names:
        delivered = timestamp(notice.at) if channel == "journal" else None
        conn.execute(
            "INSERT INTO alert_notifications (alert_key, event, severity, summary, at, channel, "
            "attempts, delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (notice.key, notice.event, notice.severity, notice.summary, timestamp(notice.at),
             channel, int(delivered is not None), delivered),
        )  # fmt: skip


def _log(notice: Notice) -> None:
    level = LEVELS[notice.severity] if notice.event == "firing" else logging.INFO
    said = f"alert {notice.key} {notice.event}: {notice.summary}"
    log.log(level, said, extra={"message_id": MESSAGE_IDS[notice.event]})


def firing(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """The alerts firing now, the oldest first."""
    return conn.execute(
        "SELECT key, severity, summary, state_since FROM alerts WHERE state = 'firing' "
        "ORDER BY state_since, key"
    ).fetchall()


def list_notifications(conn: sqlite3.Connection, *, limit: int = 50) -> list[sqlite3.Row]:
    """The latest notifications, newest first, with how their delivery went."""
    return conn.execute(
        "SELECT * FROM alert_notifications ORDER BY id DESC LIMIT ?", (limit,)
    ).fetchall()
