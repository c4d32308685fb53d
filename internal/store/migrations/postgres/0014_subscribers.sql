-- Visitors subscribed to incidents and maintenance, by e-mail or webhook.
-- A subscription is pending until its confirmation link is opened (the
-- database holds the link's SHA-256 and when it expires); token is the
-- subscriber's own link (unsubscribe), put in every message. A subscriber
-- hears of all services, or of those listed in subscriber_services.
CREATE TABLE subscribers (
    id                 BIGSERIAL PRIMARY KEY,
    kind               TEXT NOT NULL,
    address            TEXT NOT NULL,
    language           TEXT NOT NULL,
    all_services       BOOLEAN NOT NULL,
    token              TEXT NOT NULL UNIQUE,
    confirm_hash       TEXT,
    confirm_expires_at TIMESTAMPTZ,
    confirmed_at       TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL,
    UNIQUE (kind, address)
);
CREATE INDEX subscribers_confirmed ON subscribers (confirmed_at);
CREATE INDEX subscribers_pending ON subscribers (confirm_expires_at) WHERE confirmed_at IS NULL;

CREATE TABLE subscriber_services (
    subscriber_id BIGINT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    service_id    BIGINT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (subscriber_id, service_id)
);
CREATE INDEX subscriber_services_service ON subscriber_services (service_id);

-- Subscribers' notifications go through the outbox: their confirmation
-- link, and news of incidents and maintenance.
ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_kind_check;
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_kind_check
    CHECK (kind IN ('instant', 'digest', 'resolved', 'status_change', 'confirm', 'incident', 'maintenance'));
