-- Replicas read the heartbeats any of them received since a moment.
CREATE INDEX heartbeats_time ON heartbeats (received_at);
