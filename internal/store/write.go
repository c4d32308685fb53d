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
	// Minutes are partial minute rollups, added to what is stored.
	Minutes []Rollup
}

// Write stores a batch in one transaction, then recomputes the hour and day
// rollups its minutes fall in.
func (s *Store) Write(ctx context.Context, b Batch) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := insertResults(ctx, tx, b.Results); err != nil {
			return err
		}
		if err := insertHeartbeats(ctx, tx, b.Heartbeats); err != nil {
			return err
		}
		if err := addMinuteRollups(ctx, tx, b.Minutes); err != nil {
			return err
		}
		if len(b.Minutes) == 0 {
			return nil
		}
		from, to := b.Minutes[0].Bucket, b.Minutes[0].Bucket
		for _, m := range b.Minutes {
			if m.Bucket.Before(from) {
				from = m.Bucket
			}
			if m.Bucket.After(to) {
				to = m.Bucket
			}
		}
		return compactRollups(ctx, tx, from, Minute.next(Minute.Truncate(to)))
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
}

// Prune deletes history older than the retention and returns how many rows
// went.
func (s *Store) Prune(ctx context.Context, r Retention, now time.Time) (int64, error) {
	now = now.UTC()
	type deletion struct {
		q   string
		arg any
	}
	deletes := []deletion{
		{"DELETE FROM check_results WHERE checked_at < ?", now.Add(-r.Results)},
		{"DELETE FROM check_rollups WHERE resolution = 'minute' AND bucket < ?", now.Add(-r.Minute)},
		{"DELETE FROM check_rollups WHERE resolution = 'hour' AND bucket < ?", now.Add(-r.Hour)},
		{"DELETE FROM check_rollups WHERE resolution = 'day' AND bucket < ?", now.Add(-r.Day)},
		{`DELETE FROM heartbeats WHERE received_at < ?
			AND id NOT IN (SELECT MAX(id) FROM heartbeats GROUP BY check_id)`, now.Add(-r.Heartbeats)},
	}
	if r.ResultsPerCheck > 0 {
		deletes = append(deletes, deletion{`DELETE FROM check_results WHERE id IN (
			SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY check_id ORDER BY id DESC) AS n FROM check_results) ranked
			WHERE n > ?)`, r.ResultsPerCheck})
	}
	var total int64
	for _, d := range deletes {
		res, err := s.w.ExecContext(ctx, s.w.Rebind(d.q), d.arg)
		if err != nil {
			return total, fmt.Errorf("prune history: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
