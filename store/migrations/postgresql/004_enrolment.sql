-- Join tokens and the agents' identities (SQLite's 004).
CREATE TABLE join_tokens (
    id           TEXT PRIMARY KEY,
    secret_hash  TEXT NOT NULL UNIQUE,
    server       TEXT,
    labels       TEXT NOT NULL,
    uses_left    INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT
);

CREATE TABLE agent_identities (
    fingerprint  TEXT PRIMARY KEY,
    server       TEXT NOT NULL,
    serial       TEXT NOT NULL,
    issued_at    TEXT NOT NULL,
    not_after    TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE INDEX agent_identities_server ON agent_identities (server);
