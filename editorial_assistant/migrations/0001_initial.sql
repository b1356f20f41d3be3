-- Transcripts, jobs, their phases, LLM calls, outputs and the job event timeline.

CREATE TABLE transcripts (
    id INTEGER PRIMARY KEY,
    media_id TEXT NOT NULL,
    original_filename TEXT NOT NULL,
    stored_path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('srt', 'timecode', 'prose')),
    encoding TEXT NOT NULL,
    word_count INTEGER NOT NULL,
    duration_seconds REAL NOT NULL,
    duration_estimated INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX transcripts_media_id ON transcripts (media_id);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    transcript_id INTEGER NOT NULL REFERENCES transcripts (id),
    media_id TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('queued', 'running', 'completed', 'failed', 'paused', 'cancelled')),
    priority INTEGER NOT NULL DEFAULT 0,
    pause_requested INTEGER NOT NULL DEFAULT 0,
    want_timestamps INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    run_token TEXT,
    claimed_by TEXT,
    heartbeat_at TEXT,
    error TEXT,
    pause_reason TEXT,
    created_at TEXT NOT NULL,
    queued_at TEXT,
    started_at TEXT,
    finished_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX jobs_status_order ON jobs (status, priority DESC, id);
CREATE INDEX jobs_media_id ON jobs (media_id);

CREATE TABLE phases (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped')),
    tier INTEGER,
    tier_reason TEXT,
    forced_tier INTEGER,
    model TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    error TEXT,
    started_at TEXT,
    finished_at TEXT,
    PRIMARY KEY (job_id, name)
);

CREATE TABLE phase_chunks (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    phase TEXT NOT NULL,
    chunk_count INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (job_id, phase, idx)
);

CREATE TABLE llm_calls (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    phase TEXT NOT NULL,
    tier INTEGER NOT NULL,
    model_requested TEXT NOT NULL,
    model_used TEXT,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    latency_seconds REAL NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL,
    error TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX llm_calls_job ON llm_calls (job_id, phase);

CREATE TABLE outputs (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    phase TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    model TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (job_id, name, version)
);

CREATE TABLE job_events (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    data TEXT
);
CREATE INDEX job_events_job ON job_events (job_id, id);
