-- Replicas on one PostgreSQL: each statusd process registers itself and
-- renews its lease; a member whose lease lapsed is gone.
CREATE TABLE cluster_members (
    id         TEXT PRIMARY KEY,
    address    TEXT NOT NULL DEFAULT '',
    location   TEXT NOT NULL DEFAULT '',
    version    TEXT NOT NULL DEFAULT '',
    checks     INTEGER NOT NULL DEFAULT 0,
    started_at TIMESTAMP NOT NULL,
    renewed_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
