"""Sending alert notices: a JSON webhook, e-mail (SMTP or the local MTA), a dead-man ping.

``deliver_pending`` sends what ``alerts.observe`` queued. Each notice is claimed before it is
sent (so two processes delivering at once never send it twice) and marked delivered, or given
its error to be tried again on a later call, for ``alerts.retry_hours``. Delivery never raises:
a channel that is down must not stop the backup, the drill or the monitor that observed.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx

from editorial_assistant import __version__
from editorial_assistant.config import Settings
from editorial_assistant.db import timestamp, transaction

log = logging.getLogger(__name__)

SENDMAIL = "/usr/sbin/sendmail"
Sender = Callable[[Settings, sqlite3.Row], None]


class DeliveryError(Exception):
    """A channel did not take a notice; the message says why."""


def payload(settings: Settings, notice: sqlite3.Row) -> dict[str, Any]:
    """The webhook's JSON body (documented in docs/reference/metrics.md)."""
    public = settings.api.public_url
    return {
        "source": "editorial-assistant",
        "version": __version__,
        "host": socket.gethostname(),
        "alert": notice["alert_key"],
        "status": notice["event"],
        "severity": notice["severity"],
        "summary": notice["summary"],
        "at": notice["at"],
        "url": f"{public}/system" if public else None,
    }


def send_webhook(settings: Settings, notice: sqlite3.Row) -> None:
    """POST the notice as JSON; any answer but 2xx is a failure."""
    try:
        answer = httpx.post(
            settings.alerts.webhook_url,
            json=payload(settings, notice),
            timeout=settings.alerts.timeout_seconds,
            headers={"User-Agent": f"editorial-assistant/{__version__}"},
        )
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
    if not answer.is_success:
        raise DeliveryError(f"the webhook answered HTTP {answer.status_code}")


def email_message(settings: Settings, notice: sqlite3.Row) -> EmailMessage:
    """The notice as an e-mail to ``alerts.email_to``."""
    host = socket.gethostname()
    message = EmailMessage()
    message["From"] = settings.alerts.email_from or f"editorial-assistant@{host}"
    message["To"] = settings.alerts.email_to
    message["Subject"] = f"[editorial-assistant {host}] {notice['event'].upper()}: " + (
        notice["summary"] if len(notice["summary"]) < 120 else notice["summary"][:117] + "…"
    )
    lines = [f"{key}: {value}" for key, value in payload(settings, notice).items() if value]
    message.set_content("\n".join(lines) + "\n\nSee docs/reference/metrics.md for what to do.\n")
    return message


def send_email(settings: Settings, notice: sqlite3.Row) -> None:
    """Send the e-mail through ``alerts.smtp_host``, or the local MTA when there is none."""
    message, alerts = email_message(settings, notice), settings.alerts
    try:
        if not alerts.smtp_host:
            _sendmail(message, timeout=alerts.timeout_seconds)
            return
        with smtplib.SMTP(
            alerts.smtp_host, alerts.smtp_port, timeout=alerts.timeout_seconds
        ) as smtp:
            if alerts.smtp_starttls:
                smtp.starttls()
            if alerts.smtp_username:
                smtp.login(alerts.smtp_username, settings.secret("smtp_password") or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException, subprocess.SubprocessError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from None


def _sendmail(message: EmailMessage, *, timeout: float) -> None:
    done = subprocess.run(
        [SENDMAIL, "-t", "-oi"], input=message.as_bytes(), capture_output=True,
        timeout=timeout, check=False,
    )  # fmt: skip
    if done.returncode:
        said = done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
        raise DeliveryError(f"sendmail: {said}")


SENDERS: dict[str, Sender] = {"webhook": send_webhook, "email": send_email}


def deliver_pending(conn: sqlite3.Connection, *, settings: Settings, now: datetime) -> int:
    """Send every queued notice not older than ``alerts.retry_hours``; how many went out."""
    cutoff = timestamp(now - timedelta(hours=settings.alerts.retry_hours))
    pending = conn.execute(
        "SELECT * FROM alert_notifications WHERE delivered_at IS NULL AND at >= ? ORDER BY id",
        (cutoff,),
    ).fetchall()
    return sum(_deliver(conn, settings, notice, now) for notice in pending)


def _deliver(
    conn: sqlite3.Connection, settings: Settings, notice: sqlite3.Row, now: datetime
) -> bool:
    sender = SENDERS.get(notice["channel"])
    if sender is None or not _claim(conn, notice):
        return False
    try:
        sender(settings, notice)
    except DeliveryError as exc:
        log.warning("alert %s (%s) not delivered by %s: %s", notice["alert_key"],
                    notice["event"], notice["channel"], exc)  # fmt: skip
        _settle(conn, notice["id"], error=str(exc)[:500])
        return False
    _settle(conn, notice["id"], delivered_at=timestamp(now))
    return True


def _claim(conn: sqlite3.Connection, notice: sqlite3.Row) -> bool:
    with transaction(conn):
        claimed = conn.execute(
            "UPDATE alert_notifications SET attempts = attempts + 1, error = 'sending' "
            "WHERE id = ? AND attempts = ? AND delivered_at IS NULL",
            (notice["id"], notice["attempts"]),
        ).rowcount
    return bool(claimed)


def _settle(conn: sqlite3.Connection, notice_id: int, **fields: str | None) -> None:
    delivered, error = fields.get("delivered_at"), fields.get("error")
    with transaction(conn):
        conn.execute(
            "UPDATE alert_notifications SET delivered_at = ?, error = ? WHERE id = ?",
            (delivered, error, notice_id),
        )


def ping_deadman(settings: Settings, *, healthy: bool) -> str | None:
    """Ping ``alerts.deadman_url`` (``…/fail`` when something fires); the error, if any."""
    url = settings.alerts.deadman_url
    if not url:
        return None
    try:
        answer = httpx.get(url.rstrip("/") + ("" if healthy else "/fail"),
                           timeout=settings.alerts.timeout_seconds)  # fmt: skip
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if answer.is_success else f"the ping URL answered HTTP {answer.status_code}"
