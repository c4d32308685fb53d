package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/statusd/statusd/internal/status"
)

// Resolution is the width of a rollup bucket.
type Resolution string

// The rollup resolutions. Buckets start at UTC boundaries.
const (
	Minute Resolution = "minute"
	Hour   Resolution = "hour"
	Day    Resolution = "day"
)

// Truncate returns the start of the bucket holding t.
func (r Resolution) Truncate(t time.Time) time.Time {
	t = t.UTC()
	switch r {
	case Minute:
		return t.Truncate(time.Minute)
	case Hour:
		return t.Truncate(time.Hour)
	default:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
}

// Rollup aggregates a check's runs over one bucket.
type Rollup struct {
	CheckID    int64        `db:"check_id"`
	Resolution Resolution   `db:"resolution"`
	Bucket     time.Time    `db:"bucket"`
	Runs       int          `db:"runs"`
	Failures   int          `db:"failures"` // runs whose probe did not succeed
	Warnings   int          `db:"warnings"` // runs at warning
	Problems   int          `db:"problems"` // runs at problem
	WorstLevel status.Level `db:"worst_level"`
	// DurationSeconds is the summed duration of the runs.
	DurationSeconds float64 `db:"duration_seconds"`
}

// tally is a check's runs in one minute while the recorder holds them: a
// Rollup without the check and the minute, which the recorder's
// checkRecord gives, in 32 bytes instead of 96. The recorder holds up to
// RollupInterval of minutes for every check (BENCHMARKS.md, "3 December,
// evening").
type tally struct {
	runs, failures, warnings, problems uint32
	duration                           float64 // seconds
	worst                              status.Level
}

// add counts one result.
func (t *tally) add(res status.Result) {
	t.runs++
	if !res.Success {
		t.failures++
	}
	switch res.Level {
	case status.Warning:
		t.warnings++
	case status.Problem:
		t.problems++
	}
	t.worst = status.Worst(t.worst, res.Level)
	t.duration += res.Duration.Seconds()
}

// rollup is the tally as the minute's rollup of a check (its id set when
// written).
func (t tally) rollup(minute int64) Rollup {
	return Rollup{Resolution: Minute, Bucket: time.Unix(minute*60, 0).UTC(),
		Runs: int(t.runs), Failures: int(t.failures), Warnings: int(t.warnings), Problems: int(t.problems),
		WorstLevel: t.worst, DurationSeconds: t.duration}
}

// merge adds a rollup of the same minute back (a write that failed).
func (t *tally) merge(r Rollup) {
	t.runs += uint32(r.Runs)
	t.failures += uint32(r.Failures)
	t.warnings += uint32(r.Warnings)
	t.problems += uint32(r.Problems)
	t.worst = status.Worst(t.worst, r.WorstLevel)
	t.duration += r.DurationSeconds
}

// Uptime is the share of runs not at problem, 1 when there were no runs.
func (r Rollup) Uptime() float64 {
	if r.Runs == 0 {
		return 1
	}
	return 1 - float64(r.Problems)/float64(r.Runs)
}

type rollupKey struct {
	check int64
	res   Resolution
	at    int64 // bucket start, Unix seconds
}

// addRollups adds partial minute rollups to what is stored, at minute, hour
// and day resolution alike: a bucket may be written in several parts (one
// per flush, and after a restart), so every upsert adds up.
func addRollups(ctx context.Context, tx *sqlx.Tx, minutes []Rollup) error {
	if len(minutes) == 0 {
		return nil
	}
	sums := map[rollupKey]*Rollup{}
	var order []rollupKey
	for _, m := range minutes {
		for _, res := range []Resolution{Minute, Hour, Day} {
			b := res.Truncate(m.Bucket)
			k := rollupKey{m.CheckID, res, b.Unix()}
			r, ok := sums[k]
			if !ok {
				r = &Rollup{CheckID: m.CheckID, Resolution: res, Bucket: b}
				sums[k] = r
				order = append(order, k)
			}
			r.Merge(m)
		}
	}
	// In one order for every writer: replicas add to the same hour and
	// day rows of a check that changed hands, and two writers upserting
	// rows in different orders deadlock.
	slices.SortFunc(order, func(a, b rollupKey) int {
		return cmp.Or(cmp.Compare(a.check, b.check), strings.Compare(string(a.res), string(b.res)), cmp.Compare(a.at, b.at))
	})
	stmt, err := tx.PreparexContext(ctx, tx.Rebind(`INSERT INTO check_rollups
		(check_id, resolution, bucket, runs, failures, warnings, problems, worst_level, duration_seconds)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (check_id, resolution, bucket) DO UPDATE SET
			runs = check_rollups.runs + excluded.runs,
			failures = check_rollups.failures + excluded.failures,
			warnings = check_rollups.warnings + excluded.warnings,
			problems = check_rollups.problems + excluded.problems,
			worst_level = CASE WHEN excluded.worst_level > check_rollups.worst_level THEN excluded.worst_level ELSE check_rollups.worst_level END,
			duration_seconds = check_rollups.duration_seconds + excluded.duration_seconds`))
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, k := range order {
		r := sums[k]
		if _, err := stmt.ExecContext(ctx, r.CheckID, string(r.Resolution), r.Bucket, r.Runs, r.Failures, r.Warnings, r.Problems, int(r.WorstLevel), r.DurationSeconds); err != nil {
			return fmt.Errorf("store %s rollup: %w", r.Resolution, err)
		}
	}
	return nil
}

// Merge adds another rollup's counts (of the same bucket, or to sum
// several checks).
func (r *Rollup) Merge(o Rollup) {
	r.Runs += o.Runs
	r.Failures += o.Failures
	r.Warnings += o.Warnings
	r.Problems += o.Problems
	r.WorstLevel = status.Worst(r.WorstLevel, o.WorstLevel)
	r.DurationSeconds += o.DurationSeconds
}

// Rollups returns a check's rollups of one resolution with buckets in
// [from, to), oldest first.
func (s *Store) Rollups(ctx context.Context, id status.CheckID, res Resolution, from, to time.Time) ([]Rollup, error) {
	var rs []Rollup
	err := s.db.SelectContext(ctx, &rs, s.db.Rebind(`SELECT r.check_id, r.resolution, r.bucket, r.runs, r.failures, r.warnings, r.problems, r.worst_level, r.duration_seconds
		FROM check_rollups r JOIN checks c ON c.id = r.check_id
		WHERE c.resource = ? AND c.name = ? AND r.resolution = ? AND r.bucket >= ? AND r.bucket < ?
		ORDER BY r.bucket`), id.Resource, id.Check, string(res), from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("read %s rollups of %s: %w", res, id, err)
	}
	for i := range rs {
		rs[i].Bucket = rs[i].Bucket.UTC()
	}
	return rs, nil
}
