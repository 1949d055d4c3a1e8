-- Agents that enrol themselves (the fleet CA in DATA_DIR/pki issues their certificates).
--
-- join_tokens: what an admin hands to a new server. Only the secret's SHA-256 is stored. `server` binds the
-- token to one name (NULL: the agent's own name is taken); each enrolment takes one of `uses_left`.
CREATE TABLE join_tokens (
    id           TEXT PRIMARY KEY,                    -- public handle, to list and revoke by
    secret_hash  TEXT NOT NULL UNIQUE,                -- SHA-256 of the secret, hex
    server       TEXT,
    labels       TEXT NOT NULL,                       -- JSON object, given to the server it registers
    uses_left    INTEGER NOT NULL,
    created_by   TEXT NOT NULL,                       -- the token (or machine user) that made it
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT
);

-- agent_identities: every certificate the fleet CA issued to an agent, by its SHA-256 fingerprint. A renewal
-- is answered only for a live one; removing the server revokes them all.
CREATE TABLE agent_identities (
    fingerprint  TEXT PRIMARY KEY,                    -- sha256:<hex> of the certificate's DER
    server       TEXT NOT NULL,
    serial       TEXT NOT NULL,
    issued_at    TEXT NOT NULL,
    not_after    TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE INDEX agent_identities_server ON agent_identities (server);
