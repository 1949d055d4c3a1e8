-- Jobs, their targets, events and Idempotency-Keys (SQLite's 002, in PostgreSQL's words).
CREATE TABLE jobs (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    state          TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    finished_at    TEXT,
    thumbprint     TEXT NOT NULL,
    certificate    TEXT NOT NULL,
    options        TEXT NOT NULL,
    sealed_upload  BYTEA,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_state ON jobs (state);
CREATE INDEX jobs_thumbprint ON jobs (thumbprint);

CREATE TABLE targets (
    job_seq      BIGINT NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
    server       TEXT NOT NULL,
    agent_url    TEXT NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    error_code   TEXT,
    error_message TEXT,
    started_at   TEXT,
    finished_at  TEXT,
    result       TEXT,
    cert_status  TEXT,
    -- The order targets were made in, which SQLite keeps as its rowid: the store's queries use that name.
    rowid        BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (job_seq, server)
);
CREATE INDEX targets_server ON targets (server);
CREATE INDEX targets_job_state ON targets (job_seq, state);
CREATE INDEX targets_unfinished ON targets (state) WHERE state IN ('pending', 'running');

CREATE TABLE job_events (
    job_seq  BIGINT NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    type     TEXT NOT NULL,
    data     TEXT NOT NULL,
    PRIMARY KEY (job_seq, seq)
);

CREATE TABLE idempotency_keys (
    key          TEXT PRIMARY KEY,
    fingerprint  TEXT NOT NULL,
    job_id       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE inventory (
    server       TEXT NOT NULL,
    thumbprint   TEXT NOT NULL,
    certificate  TEXT NOT NULL,
    status       TEXT NOT NULL,
    not_after    TEXT NOT NULL,
    seen_at      TEXT NOT NULL,
    PRIMARY KEY (thumbprint, server)
);
CREATE INDEX inventory_server ON inventory (server);
