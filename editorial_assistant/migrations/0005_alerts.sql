-- Alerts: one row per condition the monitor or the backup drill watches, so a condition fires
-- once when it starts and resolves once when it clears; and every notification sent, with how
-- its delivery went (a failed delivery is tried again on the next evaluation).

CREATE TABLE alerts (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('ok', 'firing')),
    severity TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
    summary TEXT NOT NULL,
    breaching INTEGER NOT NULL DEFAULT 0,
    observed_since TEXT NOT NULL,
    state_since TEXT NOT NULL,
    evaluated_at TEXT NOT NULL
);

CREATE TABLE alert_notifications (
    id INTEGER PRIMARY KEY,
    alert_key TEXT NOT NULL,
    event TEXT NOT NULL CHECK (event IN ('firing', 'resolved')),
    severity TEXT NOT NULL,
    summary TEXT NOT NULL,
    at TEXT NOT NULL,
    channel TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_at TEXT,
    error TEXT
);
CREATE INDEX alert_notifications_pending ON alert_notifications (delivered_at, id);
