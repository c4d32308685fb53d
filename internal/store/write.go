package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Batch is what one write transaction stores.
type Batch struct {
	Results    []ResultRow
	Heartbeats []HeartbeatRow
	// Minutes are partial minute rollups, added to the stored minute, hour
	// and day rollups.
	Minutes []Rollup
}

// Write stores a batch in one transaction.
func (s *Store) Write(ctx context.Context, b Batch) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := insertResults(ctx, tx, b.Results); err != nil {
			return err
		}
		if err := insertHeartbeats(ctx, tx, b.Heartbeats); err != nil {
			return err
		}
		return addRollups(ctx, tx, b.Minutes)
	})
}

// Retention says how long each kind of history is kept.
type Retention struct {
	Results         time.Duration
	ResultsPerCheck int // 0: no cap
	Minute          time.Duration
	Hour            time.Duration
	Day             time.Duration
	Heartbeats      time.Duration // the latest report of a check is always kept
	Notifications   time.Duration // sent and failed ones; pending ones stay
}

// Prune deletes history older than the retention and returns how many rows
// went.
func (s *Store) Prune(ctx context.Context, r Retention, now time.Time) (int64, error) {
	now = now.UTC()
	type deletion struct {
		q    string
		args []any
	}
	deletes := []deletion{
		// Ids grow with time: the first result young enough to keep marks
		// the cut, found by walking the primary key from the oldest.
		{`DELETE FROM check_results WHERE id < COALESCE(
			(SELECT id FROM check_results WHERE checked_at >= ? ORDER BY id LIMIT 1),
			(SELECT MAX(id) + 1 FROM check_results))`, []any{now.Add(-r.Results)}},
		{"DELETE FROM check_rollups WHERE resolution = 'minute' AND bucket < ?", []any{now.Add(-r.Minute)}},
		{"DELETE FROM check_rollups WHERE resolution = 'hour' AND bucket < ?", []any{now.Add(-r.Hour)}},
		{"DELETE FROM check_rollups WHERE resolution = 'day' AND bucket < ?", []any{now.Add(-r.Day)}},
		{`DELETE FROM heartbeats WHERE received_at < ?
			AND id NOT IN (SELECT MAX(id) FROM heartbeats GROUP BY check_id)`, []any{now.Add(-r.Heartbeats)}},
		{"DELETE FROM notification_outbox WHERE state <> 'pending' AND created_at < ?", []any{now.Add(-r.Notifications)}},
		{"DELETE FROM admin_sessions WHERE expires_at <= ?", []any{now}},
	}
	if r.ResultsPerCheck > 0 {
		var checks []int64
		if err := s.w.SelectContext(ctx, &checks, "SELECT id FROM checks"); err != nil {
			return 0, fmt.Errorf("prune history: %w", err)
		}
		for _, id := range checks {
			deletes = append(deletes, deletion{`DELETE FROM check_results WHERE check_id = ? AND id <= (
				SELECT id FROM check_results WHERE check_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
				[]any{id, id, r.ResultsPerCheck}})
		}
	}
	var total int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, d := range deletes {
			res, err := tx.ExecContext(ctx, tx.Rebind(d.q), d.args...)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune history: %w", err)
	}
	return total, nil
}
