-- The evaluator: services from the config, their status history, the
-- notification state per check and receiver, and the outbox's states.
-- Never edit an applied migration: add a new one.

ALTER TABLE service_groups ADD COLUMN source TEXT NOT NULL DEFAULT 'admin' CHECK (source IN ('config', 'admin'));

ALTER TABLE services ADD COLUMN source TEXT NOT NULL DEFAULT 'admin' CHECK (source IN ('config', 'admin'));
ALTER TABLE services ADD COLUMN on_problem SMALLINT NOT NULL DEFAULT 2 CHECK (on_problem IN (2, 3));
ALTER TABLE services ADD COLUMN auto_incident BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE services ADD COLUMN manual_reason TEXT NOT NULL DEFAULT '';

-- The checks a service's status comes from, by address.
CREATE TABLE service_checks (
    service_id BIGINT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    resource   TEXT NOT NULL,
    name       TEXT NOT NULL,
    PRIMARY KEY (service_id, resource, name)
);

-- Every change of a service's status or maintenance flag.
CREATE TABLE service_status_changes (
    id          INTEGER PRIMARY KEY,
    service_id  BIGINT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    changed_at  TIMESTAMP NOT NULL,
    old_status  SMALLINT NOT NULL CHECK (old_status BETWEEN 0 AND 3),
    new_status  SMALLINT NOT NULL CHECK (new_status BETWEEN 0 AND 3),
    maintenance BOOLEAN NOT NULL,
    cause       TEXT NOT NULL CHECK (cause IN ('checks', 'manual', 'maintenance')),
    reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX service_status_changes_service ON service_status_changes (service_id, changed_at);

-- The evaluated level's debounce streaks, so that `statusd notify instant`
-- run from cron, and a restarted daemon, go on counting.
ALTER TABLE check_state ADD COLUMN problem_streak INTEGER NOT NULL DEFAULT 0;
ALTER TABLE check_state ADD COLUMN not_problem_streak INTEGER NOT NULL DEFAULT 0;

-- What each receiver was told about each check.
CREATE TABLE notification_state (
    check_id    BIGINT NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    receiver    TEXT NOT NULL,
    level       SMALLINT NOT NULL DEFAULT 0 CHECK (level BETWEEN 0 AND 2),
    notified_at TIMESTAMP,
    episode     INTEGER NOT NULL DEFAULT 0,
    sent        INTEGER NOT NULL DEFAULT 0,
    suppressed  BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (check_id, receiver)
);

-- Outbox rows: pending until the notifier sends them; suppressed ones
-- (muted by maintenance) are never sent. topic names what a row is about
-- (check:resource/name, service:Name, digest), for collapsing changes.
ALTER TABLE notification_outbox ADD COLUMN state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'suppressed'));
ALTER TABLE notification_outbox ADD COLUMN topic TEXT NOT NULL DEFAULT '';
CREATE INDEX notification_outbox_topic ON notification_outbox (receiver, topic) WHERE state = 'pending';

-- Every write that changes what the status page shows bumps the version,
-- so that every statusd on the database refreshes its cached page.
CREATE TABLE board_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO board_version (id, version) VALUES (1, 1);
