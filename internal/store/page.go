package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/statusd/statusd/internal/status"
)

// ServiceChangesSince reads every service's changes at or after from,
// oldest first, by service name: with the current status, they give the
// status at any time since from.
func (s *Store) ServiceChangesSince(ctx context.Context, from time.Time) (map[string][]StatusChange, error) {
	var rows []StatusChange
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT c.id, s.name AS service, c.changed_at, c.old_status, c.new_status, c.maintenance, c.cause, c.reason
		FROM service_status_changes c JOIN services s ON s.id = c.service_id
		WHERE c.changed_at >= ? ORDER BY c.changed_at, c.id`), from.UTC())
	if err != nil {
		return nil, fmt.Errorf("read service changes: %w", err)
	}
	m := map[string][]StatusChange{}
	for _, r := range rows {
		r.At = r.At.UTC()
		m[r.Service] = append(m[r.Service], r)
	}
	return m, nil
}

// RollupsOf reads the rollups of one resolution of several checks with
// buckets at or after from, oldest first, by check.
func (s *Store) RollupsOf(ctx context.Context, ids []status.CheckID, res Resolution, from time.Time) (map[status.CheckID][]Rollup, error) {
	out := map[status.CheckID][]Rollup{}
	byID, keys, err := s.checkKeys(ctx, ids)
	if err != nil || len(keys) == 0 {
		return out, err
	}
	q, args, err := sqlx.In(`SELECT check_id, resolution, bucket, runs, failures, warnings, problems, worst_level, duration_seconds
		FROM check_rollups WHERE resolution = ? AND bucket >= ? AND check_id IN (?) ORDER BY bucket`, string(res), from.UTC(), keys)
	if err != nil {
		return nil, err
	}
	var rs []Rollup
	if err := s.db.SelectContext(ctx, &rs, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("read %s rollups: %w", res, err)
	}
	for _, r := range rs {
		r.Bucket = r.Bucket.UTC()
		id := byID[r.CheckID]
		out[id] = append(out[id], r)
	}
	return out, nil
}

// checkKeys are the database ids of checks: by id, and as a list.
func (s *Store) checkKeys(ctx context.Context, ids []status.CheckID) (map[int64]status.CheckID, []int64, error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	// Checks are few next to their rows: read their ids, then the rows
	// through their indexes.
	var checks []struct {
		ID       int64  `db:"id"`
		Resource string `db:"resource"`
		Name     string `db:"name"`
	}
	if err := s.db.SelectContext(ctx, &checks, "SELECT id, resource, name FROM checks"); err != nil {
		return nil, nil, fmt.Errorf("read checks: %w", err)
	}
	want := map[status.CheckID]bool{}
	for _, id := range ids {
		want[id] = true
	}
	byID := map[int64]status.CheckID{}
	var keys []int64
	for _, c := range checks {
		id := status.CheckID{Resource: c.Resource, Check: c.Name}
		if want[id] {
			byID[c.ID] = id
			keys = append(keys, c.ID)
		}
	}
	return byID, keys, nil
}

// DurationsOf reads how long the stored runs of checks took since from,
// in seconds (a run is stored at least once per storage.results_interval,
// and at most storage.retention.results_per_check are kept): for the
// percentiles of a response-time chart.
func (s *Store) DurationsOf(ctx context.Context, ids []status.CheckID, from time.Time) (map[status.CheckID][]float64, error) {
	out := map[status.CheckID][]float64{}
	byID, keys, err := s.checkKeys(ctx, ids)
	if err != nil || len(keys) == 0 {
		return out, err
	}
	q, args, err := sqlx.In(`SELECT check_id, duration_seconds FROM check_results WHERE check_id IN (?) AND checked_at >= ?`, keys, from.UTC())
	if err != nil {
		return nil, err
	}
	var rows []struct {
		ID       int64   `db:"check_id"`
		Duration float64 `db:"duration_seconds"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("read durations: %w", err)
	}
	for _, r := range rows {
		id := byID[r.ID]
		out[id] = append(out[id], r.Duration)
	}
	return out, nil
}

// IncidentMonths lists the months (their first moment in loc) in which
// incidents occurred, newest first.
func (s *Store) IncidentMonths(ctx context.Context, loc *time.Location) ([]time.Time, error) {
	// Incidents number thousands at most: reading their times is simpler
	// than two dialects' date functions, and the page caches the answer.
	var times []time.Time
	if err := s.db.SelectContext(ctx, &times, "SELECT occurred_at FROM incidents ORDER BY occurred_at DESC"); err != nil {
		return nil, fmt.Errorf("read incident months: %w", err)
	}
	var months []time.Time
	for _, t := range times {
		t = t.In(loc)
		m := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
		if len(months) == 0 || !months[len(months)-1].Equal(m) {
			months = append(months, m)
		}
	}
	return months, nil
}

// MaxIncidentID is the largest incident id (0 when there is none).
func (s *Store) MaxIncidentID(ctx context.Context) (int64, error) {
	var id int64
	if err := s.db.GetContext(ctx, &id, "SELECT COALESCE(MAX(id), 0) FROM incidents"); err != nil {
		return 0, fmt.Errorf("read incidents: %w", err)
	}
	return id, nil
}

// ErrNoMaintenance is a maintenance id the store does not know.
var ErrNoMaintenance = errors.New("no such maintenance")

// CancelMaintenance removes a maintenance window.
func (t *Tx) CancelMaintenance(id int64) error {
	return t.deleteByID("maintenances", "maintenance", id, ErrNoMaintenance)
}

// deleteByID removes a row of what the status page shows by its id;
// missing when there is none.
func (t *Tx) deleteByID(table, what string, id int64, missing error) error {
	res, err := t.exec("DELETE FROM "+table+" WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("delete %s %d: %w", what, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s %d: %w", what, id, missing)
	}
	return t.BumpBoard()
}

// ServiceIDs reads the ids of services by name; an unknown name is an
// error naming it.
func (t *Tx) ServiceIDs(names []string) ([]int64, error) {
	ids := make([]int64, 0, len(names))
	for _, n := range names {
		var id int64
		err := t.get(&id, "SELECT id FROM services WHERE name = ?", n)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("service %q: %w", n, ErrNoService)
		}
		if err != nil {
			return nil, fmt.Errorf("read service %q: %w", n, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
