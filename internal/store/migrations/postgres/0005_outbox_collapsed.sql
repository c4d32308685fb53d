-- A notification the notifier composed into nothing to tell (a service's
-- change undone before it went out) is settled as 'collapsed'.
ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_state_check;
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_state_check
    CHECK (state IN ('pending', 'sent', 'failed', 'suppressed', 'collapsed'));
