-- The servers the controller deploys to (the same columns as SQLite's 001; see store/migrations/sqlite).
CREATE TABLE servers (
    name           TEXT PRIMARY KEY,
    agent_url      TEXT NOT NULL,
    labels         TEXT NOT NULL DEFAULT '{}',   -- JSON object of string to string
    created_at     TEXT NOT NULL,                -- RFC 3339 text, compared as text, as on SQLite
    updated_at     TEXT NOT NULL,
    last_contact   TEXT,
    reachable      INTEGER,                      -- 1, 0, or NULL before the first probe
    agent_version  TEXT
);
