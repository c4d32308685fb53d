-- The notifier: claims on outbox rows (so that several statusd processes
-- never deliver a row twice), the integrations a row was delivered to
-- (so that a retry does not repeat them), and the Slack threads that
-- recoveries reply in. Never edit an applied migration: add a new one.

ALTER TABLE notification_outbox ADD COLUMN claimed_until TIMESTAMP;
ALTER TABLE notification_outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE notification_outbox ADD COLUMN delivered TEXT NOT NULL DEFAULT '';
ALTER TABLE notification_outbox ADD COLUMN failed_at TIMESTAMP;
CREATE INDEX notification_outbox_receiver ON notification_outbox (receiver, id) WHERE state = 'pending';

CREATE TABLE notification_threads (
    receiver   TEXT NOT NULL,
    topic      TEXT NOT NULL,
    channel    TEXT NOT NULL,
    ts         TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (receiver, topic)
);
