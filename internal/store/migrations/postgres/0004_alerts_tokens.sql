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
    starts_at   TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (service_id, fingerprint)
);

ALTER TABLE service_status_changes DROP CONSTRAINT service_status_changes_cause_check;
ALTER TABLE service_status_changes ADD CONSTRAINT service_status_changes_cause_check
    CHECK (cause IN ('checks', 'manual', 'maintenance', 'alert'));
