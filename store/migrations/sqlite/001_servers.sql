-- The servers the controller deploys to: a name, its agent's URL and labels for selectors, and what the
-- controller last learned from the agent.
CREATE TABLE servers (
    name           TEXT PRIMARY KEY,
    agent_url      TEXT NOT NULL,
    labels         TEXT NOT NULL DEFAULT '{}',   -- JSON object of string to string
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    last_contact   TEXT,                          -- RFC 3339, when the agent last answered
    reachable      INTEGER,                       -- 1, 0, or NULL before the first probe
    agent_version  TEXT
);
