"""Alerts notify once when a condition starts and once when it clears, on every channel.

The receivers are real servers on 127.0.0.1 (tests/fakes/receivers.py); time is the ``now``
each observation is given, never the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from editorial_assistant.config import Settings
from editorial_assistant.db import connect, migrate, utcnow
from editorial_assistant.monitoring.alerts import Condition, firing, list_notifications, observe
from editorial_assistant.monitoring.channels import deliver_pending, ping_deadman
from tests.conftest import make_settings
from tests.fakes.receivers import SmtpReceiver, WebhookReceiver

START = utcnow().replace(microsecond=0)


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def alert_settings(tmp_path: Path, **env: str) -> Settings:
    settings = make_settings(tmp_path, **env)
    migrate(settings.database_path)
    return settings


def disk(percent: int) -> Condition:
    return Condition("disk.full", percent > 80, f"The data disk is {percent} % full.", "critical")


def tick(settings: Settings, condition: Condition, minute: float) -> list[str]:
    """Observe at START + minute and deliver; the events that went out."""
    conn = connect(settings.database_path)
    now = START + timedelta(minutes=minute)
    notices = observe(conn, settings=settings, conditions=[condition], now=now)
    deliver_pending(conn, settings=settings, now=now)
    return [notice.event for notice in notices]


def test_a_condition_fires_once_and_resolves_once(tmp_path: Path, webhook: WebhookReceiver) -> None:
    settings = alert_settings(tmp_path, EA_ALERTS_WEBHOOK_URL=webhook.url + "/hook")
    said = [tick(settings, disk(p), m) for m, p in enumerate([50, 85, 90, 95, 70, 60, 60, 60, 60])]
    assert said == [[], ["firing"], [], [], [], [], [], [], []]
    # Clear from minute 4; resolved once it stayed clear 5 minutes (minute 9).
    assert tick(settings, disk(60), 9) == ["resolved"]
    assert tick(settings, disk(60), 10) == []
    bodies = webhook.bodies()
    assert [(b["alert"], b["status"], b["severity"]) for b in bodies] == [
        ("disk.full", "firing", "critical"),
        ("disk.full", "resolved", "critical"),
    ]
    assert bodies[0]["summary"] == "The data disk is 85 % full."
    assert bodies[1]["summary"] == "The data disk is 60 % full."
    assert {b["source"] for b in bodies} == {"editorial-assistant"}
    assert webhook.requests[0]["path"] == "/hook"


def test_a_value_hovering_at_its_threshold_notifies_once(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    settings = alert_settings(tmp_path, EA_ALERTS_WEBHOOK_URL=webhook.url)
    for minute in range(30):
        tick(settings, disk(81 if minute % 2 else 79), minute)
    assert [b["status"] for b in webhook.bodies()] == ["firing"]
    assert [row["key"] for row in firing(connect(settings.database_path))] == ["disk.full"]


def test_an_event_resolves_as_soon_as_it_is_observed_clear(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    settings = alert_settings(tmp_path, EA_ALERTS_WEBHOOK_URL=webhook.url)
    failed = Condition("backup.failed", True, "The last backup failed.", settles=False)
    assert tick(settings, failed, 0) == ["firing"]
    assert tick(settings, failed, 1) == []
    cleared = Condition("backup.failed", False, "The last backup succeeded.", settles=False)
    assert tick(settings, cleared, 2) == ["resolved"]


def test_a_delivery_the_webhook_refuses_is_tried_again(tmp_path: Path) -> None:
    webhook = WebhookReceiver(answers=[500, 503])
    try:
        settings = alert_settings(tmp_path, EA_ALERTS_WEBHOOK_URL=webhook.url)
        tick(settings, disk(99), 0)
        conn = connect(settings.database_path)
        [pending] = [r for r in list_notifications(conn) if r["channel"] == "webhook"]
        assert (
            pending["delivered_at"] is None and pending["error"] == "the webhook answered HTTP 500"
        )
        assert deliver_pending(conn, settings=settings, now=START) == 0  # 503
        assert deliver_pending(conn, settings=settings, now=START) == 1
        assert deliver_pending(conn, settings=settings, now=START) == 0  # nothing left
        [sent] = [r for r in list_notifications(conn) if r["channel"] == "webhook"]
        assert sent["attempts"] == 3 and sent["delivered_at"] and sent["error"] is None
        assert [b["status"] for b in webhook.bodies()] == ["firing"] * 3
    finally:
        webhook.close()


def test_an_unreachable_webhook_is_recorded_and_given_up_after_retry_hours(tmp_path: Path) -> None:
    settings = alert_settings(
        tmp_path, EA_ALERTS_WEBHOOK_URL="http://127.0.0.1:9/nothing-listens",
        EA_ALERTS_RETRY_HOURS="1", EA_ALERTS_TIMEOUT_SECONDS="2",
    )  # fmt: skip
    tick(settings, disk(99), 0)
    conn = connect(settings.database_path)
    [row] = [r for r in list_notifications(conn) if r["channel"] == "webhook"]
    assert row["delivered_at"] is None and row["error"].startswith("ConnectError")
    later = START + timedelta(hours=2)
    assert deliver_pending(conn, settings=settings, now=later) == 0
    [row] = [r for r in list_notifications(conn) if r["channel"] == "webhook"]
    assert row["attempts"] == 1  # too old to try again


def test_alerts_are_emailed_through_smtp(tmp_path: Path) -> None:
    smtp = SmtpReceiver()
    try:
        settings = alert_settings(
            tmp_path, EA_ALERTS_EMAIL_TO="it@station.example, oncall@station.example",
            EA_ALERTS_EMAIL_FROM="ea@station.example", EA_ALERTS_SMTP_HOST="127.0.0.1",
            EA_ALERTS_SMTP_PORT=str(smtp.port), EA_ALERTS_SMTP_STARTTLS="false",
        )  # fmt: skip
        tick(settings, disk(91), 0)
        [message] = smtp.messages
        assert message["Subject"].endswith("FIRING: The data disk is 91 % full.")
        assert message["From"] == "ea@station.example"
        assert smtp.envelopes == [
            ("ea@station.example", ["it@station.example", "oncall@station.example"])
        ]
        body = message.get_payload()
        assert "alert: disk.full" in body and "severity: critical" in body
    finally:
        smtp.close()


def test_without_an_mta_the_email_failure_is_recorded(tmp_path: Path) -> None:
    settings = alert_settings(tmp_path, EA_ALERTS_EMAIL_TO="it@station.example")
    tick(settings, disk(91), 0)
    [row] = [
        r for r in list_notifications(connect(settings.database_path)) if r["channel"] == "email"
    ]
    if Path("/usr/sbin/sendmail").exists():
        pytest.skip("this machine has a mail transfer agent")
    assert row["delivered_at"] is None and "sendmail" in row["error"]


def test_every_notice_is_in_the_journal_channel_even_with_no_channel_set(tmp_path: Path) -> None:
    settings = alert_settings(tmp_path)
    tick(settings, disk(91), 0)
    rows = list_notifications(connect(settings.database_path))
    assert [(r["channel"], r["event"], bool(r["delivered_at"])) for r in rows] == [
        ("journal", "firing", True)
    ]


def test_the_dead_man_url_is_pinged_or_told_of_failure(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    settings = alert_settings(tmp_path, EA_ALERTS_DEADMAN_URL=webhook.url + "/ping/abc")
    assert ping_deadman(settings, healthy=True) is None
    assert ping_deadman(settings, healthy=False) is None
    assert [(r["method"], r["path"]) for r in webhook.requests] == [
        ("GET", "/ping/abc"),
        ("GET", "/ping/abc/fail"),
    ]
    webhook.answers.append(404)
    assert ping_deadman(settings, healthy=True) == "the ping URL answered HTTP 404"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EA_ALERTS_WEBHOOK_URL", "ftp://example.org/hook"),
        ("EA_ALERTS_EMAIL_TO", "it at station"),
        ("EA_ALERTS_DEADMAN_URL", "hc-ping.com/abc"),
    ],
)
def test_bad_alert_settings_are_refused_with_the_setting_named(
    tmp_path: Path, name: str, value: str
) -> None:
    from editorial_assistant.errors import ConfigError

    with pytest.raises(ConfigError) as refused:
        make_settings(tmp_path, **{name: value})
    assert name.removeprefix("EA_ALERTS_").lower() in str(refused.value)
