-- What operators write from the admin, the API and the command line.
-- Never edit an applied migration: add a new one.

-- How bad an incident is, shown as its colour on the page.
ALTER TABLE incidents ADD COLUMN impact TEXT NOT NULL DEFAULT 'none' CHECK (impact IN ('none', 'minor', 'major', 'critical'));

-- A note is statusd's own line inside an operator's incident (a check
-- failed or recovered): it neither changes nor claims the incident's
-- state, which its latest update that is not a note gives.
ALTER TABLE incident_updates ADD COLUMN note BOOLEAN NOT NULL DEFAULT FALSE;

-- The status an incident set on a service by hand, cleared when the
-- incident is resolved (NULL: the incident only names the service).
ALTER TABLE incident_services ADD COLUMN status SMALLINT CHECK (status BETWEEN 0 AND 3);

-- Every write by a person or a token: who (a user, a token's name, or the
-- command line's user), through what (admin, api, cli), the action, its
-- target, and the target before and after as JSON ('' when it did not
-- exist).
CREATE TABLE audit_log (
    id      BIGSERIAL PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    actor   TEXT NOT NULL,
    via     TEXT NOT NULL CHECK (via IN ('admin', 'api', 'cli')),
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    before  TEXT NOT NULL DEFAULT '',
    after   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
