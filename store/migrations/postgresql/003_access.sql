-- Tokens and the append-only audit log (SQLite's 003).
CREATE TABLE tokens (
    name          TEXT PRIMARY KEY,
    secret_hash   TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    scope         TEXT,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT,
    revoked_at    TEXT
);

CREATE TABLE audit_log (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          TEXT NOT NULL,
    token       TEXT,
    client      TEXT NOT NULL,
    method      TEXT NOT NULL,
    route       TEXT NOT NULL,
    server      TEXT,
    thumbprint  TEXT,
    job         TEXT,
    status      INTEGER NOT NULL,
    code        TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_token ON audit_log (token);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
