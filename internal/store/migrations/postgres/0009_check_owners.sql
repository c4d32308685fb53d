-- Replicas share the checks out: a member takes its share once it has
-- been a member for a moment (joined_at), and the owner of a check shares
-- its latest result (of its location, for a check run in several) with
-- the others, which serve it.
ALTER TABLE cluster_members ADD COLUMN joined_at TIMESTAMPTZ NOT NULL DEFAULT '1970-01-01 00:00:00+00';

CREATE TABLE check_latest (
    resource   TEXT NOT NULL,
    name       TEXT NOT NULL,
    location   TEXT NOT NULL DEFAULT '',
    owner      TEXT NOT NULL,
    checked_at TIMESTAMPTZ NOT NULL,
    written_at TIMESTAMPTZ NOT NULL,
    result     TEXT NOT NULL,
    PRIMARY KEY (resource, name, location)
);
CREATE INDEX check_latest_written ON check_latest (written_at);
