-- Named leases among the members (the leader's): held by one member at a
-- time, renewed by it, taken over by another once expired.
CREATE TABLE cluster_leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
