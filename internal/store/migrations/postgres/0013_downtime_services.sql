-- The services a downtime period puts in maintenance; none listed is all
-- of them.
CREATE TABLE downtime_services (
    period_id  BIGINT NOT NULL REFERENCES downtime_periods (id) ON DELETE CASCADE,
    service_id BIGINT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (period_id, service_id)
);
