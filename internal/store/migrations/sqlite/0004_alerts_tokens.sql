-- Prometheus integration: API tokens get a scope, Alertmanager's alerts
-- set services' status (cause 'alert'). Never edit an applied migration:
-- add a new one.

ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'write' CHECK (scope IN ('read', 'write'));

-- The alerts that hold a service's status, by Alertmanager fingerprint.
CREATE TABLE service_alerts (
    service_id  BIGINT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    alertname   TEXT NOT NULL,
    status      SMALLINT NOT NULL CHECK (status BETWEEN 1 AND 3),
    summary     TEXT NOT NULL DEFAULT '',
    starts_at   TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (service_id, fingerprint)
);

-- SQLite cannot change a CHECK constraint: the history table is rebuilt
-- with 'alert' among the causes.
CREATE TABLE service_status_changes_new (
    id          INTEGER PRIMARY KEY,
    service_id  BIGINT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    changed_at  TIMESTAMP NOT NULL,
    old_status  SMALLINT NOT NULL CHECK (old_status BETWEEN 0 AND 3),
    new_status  SMALLINT NOT NULL CHECK (new_status BETWEEN 0 AND 3),
    maintenance BOOLEAN NOT NULL,
    cause       TEXT NOT NULL CHECK (cause IN ('checks', 'manual', 'maintenance', 'alert')),
    reason      TEXT NOT NULL DEFAULT ''
);
INSERT INTO service_status_changes_new SELECT id, service_id, changed_at, old_status, new_status, maintenance, cause, reason FROM service_status_changes;
DROP TABLE service_status_changes;
ALTER TABLE service_status_changes_new RENAME TO service_status_changes;
CREATE INDEX service_status_changes_service ON service_status_changes (service_id, changed_at);
