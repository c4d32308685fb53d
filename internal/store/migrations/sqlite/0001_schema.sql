-- statusd schema, SQLite. Times are stored as integer microseconds (TIMESTAMP columns). Never edit an applied migration: add a new one.

-- Checks are configured in YAML; this table gives each resource/check a
-- stable id for its history.
CREATE TABLE checks (
    id         INTEGER PRIMARY KEY,
    resource   TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (resource, name)
);

-- Recent raw results, pruned by age and count per check. Ids grow with
-- time, so one index serves both a check's history and pruning.
CREATE TABLE check_results (
    id               INTEGER PRIMARY KEY,
    check_id         BIGINT NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    checked_at       TIMESTAMP NOT NULL,
    level            SMALLINT NOT NULL CHECK (level BETWEEN 0 AND 2),
    success          BOOLEAN NOT NULL,
    value            REAL,
    duration_seconds REAL NOT NULL,
    message          TEXT NOT NULL,
    details          TEXT NOT NULL
);
CREATE INDEX check_results_check ON check_results (check_id, id);

-- Per-check rollups for uptime history: minute, hour and day buckets, each
-- added to as results come in.
CREATE TABLE check_rollups (
    check_id         BIGINT NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    resolution       TEXT NOT NULL CHECK (resolution IN ('minute', 'hour', 'day')),
    bucket           TIMESTAMP NOT NULL,
    runs             INTEGER NOT NULL,
    failures         INTEGER NOT NULL,
    warnings         INTEGER NOT NULL,
    problems         INTEGER NOT NULL,
    worst_level      SMALLINT NOT NULL,
    duration_seconds REAL NOT NULL,
    PRIMARY KEY (check_id, resolution, bucket)
) WITHOUT ROWID;
CREATE INDEX check_rollups_bucket ON check_rollups (resolution, bucket);

-- Evaluator state per check (debounce, anti-spam), so a restart does not
-- re-page.
CREATE TABLE check_state (
    check_id              BIGINT PRIMARY KEY REFERENCES checks (id) ON DELETE CASCADE,
    level                 SMALLINT NOT NULL,
    level_since           TIMESTAMP NOT NULL,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    consecutive_successes INTEGER NOT NULL DEFAULT 0,
    notified_level        SMALLINT,
    notified_at           TIMESTAMP,
    updated_at            TIMESTAMP NOT NULL
);

-- Reports from cron jobs and workers to heartbeat checks.
CREATE TABLE heartbeats (
    id          INTEGER PRIMARY KEY,
    check_id    BIGINT NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    received_at TIMESTAMP NOT NULL,
    failed      BOOLEAN NOT NULL,
    source      TEXT NOT NULL
);
CREATE INDEX heartbeats_check_time ON heartbeats (check_id, received_at);

-- The status page.
CREATE TABLE service_groups (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    priority   INTEGER NOT NULL DEFAULT 0,
    collapse   TEXT NOT NULL DEFAULT 'never' CHECK (collapse IN ('never', 'always', 'when_operational')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE services (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    description       TEXT NOT NULL DEFAULT '',
    href              TEXT NOT NULL DEFAULT '',
    group_id          BIGINT REFERENCES service_groups (id) ON DELETE SET NULL,
    priority          INTEGER NOT NULL DEFAULT 0,
    status            SMALLINT NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 3),
    manual_status     SMALLINT CHECK (manual_status BETWEEN 0 AND 3),
    maintenance       BOOLEAN NOT NULL DEFAULT FALSE,
    status_changed_at TIMESTAMP,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);

CREATE TABLE incidents (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    closed      BOOLEAN NOT NULL DEFAULT FALSE,
    automatic   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX incidents_occurred ON incidents (occurred_at);

CREATE TABLE incident_services (
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    service_id  BIGINT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (incident_id, service_id)
);

CREATE TABLE incident_updates (
    id          INTEGER PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    state       TEXT NOT NULL CHECK (state IN ('investigating', 'identified', 'monitoring', 'resolved')),
    description TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, created_at);

CREATE TABLE maintenances (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    starts_at   TIMESTAMP NOT NULL,
    ends_at     TIMESTAMP,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE maintenance_services (
    maintenance_id BIGINT NOT NULL REFERENCES maintenances (id) ON DELETE CASCADE,
    service_id     BIGINT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (maintenance_id, service_id)
);

-- Downtime mode: active when enabled and start <= now and (end unset or now <= end).
CREATE TABLE downtime_periods (
    id         INTEGER PRIMARY KEY,
    start_at   TIMESTAMP,
    end_at     TIMESTAMP,
    enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    reason     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Notifications are written here before they are sent and marked after.
CREATE TABLE notification_outbox (
    id              INTEGER PRIMARY KEY,
    receiver        TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('instant', 'digest', 'resolved', 'status_change')),
    dedup_key       TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    last_error      TEXT NOT NULL DEFAULT '',
    UNIQUE (receiver, dedup_key)
);
CREATE INDEX notification_outbox_pending ON notification_outbox (next_attempt_at) WHERE sent_at IS NULL;

-- API bearer tokens, stored hashed.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);

CREATE TABLE admin_users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP
);

-- Admin sessions: the cookie carries a random token; its hash is the key.
CREATE TABLE admin_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);
