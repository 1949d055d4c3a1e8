-- Jobs: one import, enable or remove across servers, with one target per server. Every transition is
-- written here before anyone hears of it; job_events is that history, in order, for the events stream.
CREATE TABLE jobs (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order: newest first, and the list's cursor
    id             TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,                      -- import | enable | remove
    state          TEXT NOT NULL,                      -- queued | running | succeeded | failed | ...
    created_at     TEXT NOT NULL,
    finished_at    TEXT,
    thumbprint     TEXT NOT NULL,
    certificate    TEXT NOT NULL,                      -- the certificate's summary (JSON)
    options        TEXT NOT NULL,                      -- privateKeyExportable, friendlyName, services (JSON)
    sealed_upload  BLOB,                               -- AES-256-GCM: file bytes and password; NULL once final
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_state ON jobs (state);
CREATE INDEX jobs_thumbprint ON jobs (thumbprint);

CREATE TABLE targets (
    job_seq      INTEGER NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
    server       TEXT NOT NULL,
    agent_url    TEXT NOT NULL,                        -- as registered when the job was made
    state        TEXT NOT NULL,                        -- pending | running | succeeded | failed | cancelled
    attempts     INTEGER NOT NULL DEFAULT 0,
    error_code   TEXT,
    error_message TEXT,
    started_at   TEXT,
    finished_at  TEXT,
    result       TEXT,                                 -- installed | alreadyInstalled | enabled | removed ...
    cert_status  TEXT,                                 -- Valid, Untrusted... as the agent sees it
    PRIMARY KEY (job_seq, server)
);
CREATE INDEX targets_server ON targets (server);
CREATE INDEX targets_job_state ON targets (job_seq, state);  -- a job's counts by state, from the index alone
CREATE INDEX targets_unfinished ON targets (state) WHERE state IN ('pending', 'running');

CREATE TABLE job_events (
    job_seq  INTEGER NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,                         -- 1, 2, 3... per job: the SSE event id
    type     TEXT NOT NULL,                            -- target | job | done
    data     TEXT NOT NULL,                            -- JSON
    PRIMARY KEY (job_seq, seq)
);

-- Idempotency-Key of a POST: the same key with the same request answers the same job.
CREATE TABLE idempotency_keys (
    key          TEXT PRIMARY KEY,
    fingerprint  TEXT NOT NULL,                        -- keyed hash (HMAC-SHA-256) of the request's meaning
    job_id       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

-- What each server's agent last said it holds: refreshed by probes and by finished targets.
CREATE TABLE inventory (
    server       TEXT NOT NULL,
    thumbprint   TEXT NOT NULL,
    certificate  TEXT NOT NULL,                        -- the agent's description (JSON)
    status       TEXT NOT NULL,
    not_after    TEXT NOT NULL,
    seen_at      TEXT NOT NULL,
    PRIMARY KEY (thumbprint, server)
);
CREATE INDEX inventory_server ON inventory (server);
