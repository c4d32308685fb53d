-- A notification the notifier composed into nothing to tell (a service's
-- change undone before it went out) is settled as 'collapsed'. SQLite
-- cannot change a CHECK constraint: the table is made again with it.
CREATE TABLE notification_outbox_new (
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
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'suppressed', 'collapsed')),
    topic           TEXT NOT NULL DEFAULT '',
    claimed_until   TIMESTAMP,
    claimed_by      TEXT NOT NULL DEFAULT '',
    delivered       TEXT NOT NULL DEFAULT '',
    failed_at       TIMESTAMP,
    UNIQUE (receiver, dedup_key)
);
INSERT INTO notification_outbox_new (id, receiver, kind, dedup_key, payload, created_at, attempts, next_attempt_at, sent_at,
        last_error, state, topic, claimed_until, claimed_by, delivered, failed_at)
    SELECT id, receiver, kind, dedup_key, payload, created_at, attempts, next_attempt_at, sent_at,
        last_error, state, topic, claimed_until, claimed_by, delivered, failed_at FROM notification_outbox;
DROP TABLE notification_outbox;
ALTER TABLE notification_outbox_new RENAME TO notification_outbox;
CREATE INDEX notification_outbox_pending ON notification_outbox (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX notification_outbox_topic ON notification_outbox (receiver, topic) WHERE state = 'pending';
CREATE INDEX notification_outbox_receiver ON notification_outbox (receiver, id) WHERE state = 'pending';
