-- Who may call the controller's API, and what they did with it.
--
-- tokens: one row per token name. The secret itself is never stored: only its SHA-256 (hex). A revoked
-- token keeps its row (revoked_at), so that using it again is told apart from an unknown token.
CREATE TABLE tokens (
    name          TEXT PRIMARY KEY,
    secret_hash   TEXT NOT NULL UNIQUE,                -- SHA-256 of the secret, hex
    role          TEXT NOT NULL,                       -- viewer | operator | admin
    scope         TEXT,                                -- a label selector (JSON object); NULL: every server
    created_at    TEXT NOT NULL,
    expires_at    TEXT,                                -- NULL: never
    last_used_at  TEXT,
    revoked_at    TEXT
);

-- audit_log: every request that changed something, every export of a private key and every refused
-- authentication. Append-only: the triggers refuse an UPDATE or a DELETE.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    token       TEXT,                                  -- the token's name; NULL when none was recognised
    client      TEXT NOT NULL,                         -- the client's address
    method      TEXT NOT NULL,
    route       TEXT NOT NULL,                         -- the route's pattern, e.g. /v1/servers/{name}
    server      TEXT,
    thumbprint  TEXT,
    job         TEXT,
    status      INTEGER NOT NULL,                      -- the HTTP status answered
    code        TEXT                                   -- the problem's code when refused
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_token ON audit_log (token);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
