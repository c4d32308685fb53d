-- Visitors subscribed to incidents and maintenance, by e-mail or webhook.
-- A subscription is pending until its confirmation link is opened (the
-- database holds the link's SHA-256 and when it expires); token is the
-- subscriber's own link (unsubscribe), put in every message. A subscriber
-- hears of all services, or of those listed in subscriber_services.
CREATE TABLE subscribers (
    id                 INTEGER PRIMARY KEY,
    kind               TEXT NOT NULL,
    address            TEXT NOT NULL,
    language           TEXT NOT NULL,
    all_services       BOOLEAN NOT NULL,
    token              TEXT NOT NULL UNIQUE,
    confirm_hash       TEXT,
    confirm_expires_at TIMESTAMP,
    confirmed_at       TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    UNIQUE (kind, address)
);
CREATE INDEX subscribers_confirmed ON subscribers (confirmed_at);
CREATE INDEX subscribers_pending ON subscribers (confirm_expires_at) WHERE confirmed_at IS NULL;

CREATE TABLE subscriber_services (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    service_id    INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (subscriber_id, service_id)
);
CREATE INDEX subscriber_services_service ON subscriber_services (service_id);

-- Subscribers' notifications go through the outbox: their confirmation
-- link, and news of incidents and maintenance. SQLite cannot change a
-- CHECK constraint: the table is made again with it.
CREATE TABLE notification_outbox_new (
    id              INTEGER PRIMARY KEY,
    receiver        TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('instant', 'digest', 'resolved', 'status_change', 'confirm', 'incident', 'maintenance')),
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
