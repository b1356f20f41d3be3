-- One row per backup, restore drill and restore: what ran, when, how it ended, what it made.

CREATE TABLE backup_runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('backup', 'drill', 'restore')),
    trigger TEXT NOT NULL DEFAULT 'manual' CHECK (trigger IN ('timer', 'manual')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    result TEXT NOT NULL CHECK (result IN ('running', 'ok', 'warning', 'failed')),
    snapshot_file TEXT,
    snapshot_bytes INTEGER,
    restic_snapshot_id TEXT,
    bytes_added INTEGER,
    details TEXT,
    error TEXT
);
CREATE INDEX backup_runs_kind ON backup_runs (kind, id);
