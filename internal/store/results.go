package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/statusd/statusd/internal/status"
)

// EnsureChecks returns the database id of every check, creating rows for
// new ones, in the order of their names: processes registering the same
// new checks at once wait for one another instead of deadlocking.
func (s *Store) EnsureChecks(ctx context.Context, ids []status.CheckID, now time.Time) (map[status.CheckID]int64, error) {
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b status.CheckID) int { return strings.Compare(a.String(), b.String()) })
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		stmt, err := tx.PreparexContext(ctx, tx.Rebind(insertCheck))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range ids {
			if _, err := stmt.ExecContext(ctx, id.Resource, id.Check, now.UTC()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("register checks: %w", err)
	}
	return s.checkIDs(ctx, s.w)
}

func (s *Store) checkIDs(ctx context.Context, q sqlx.QueryerContext) (map[status.CheckID]int64, error) {
	var rows []struct {
		ID       int64
		Resource string
		Name     string
	}
	if err := sqlx.SelectContext(ctx, q, &rows, "SELECT id, resource, name FROM checks"); err != nil {
		return nil, fmt.Errorf("read checks: %w", err)
	}
	m := make(map[status.CheckID]int64, len(rows))
	for _, r := range rows {
		m[status.CheckID{Resource: r.Resource, Check: r.Name}] = r.ID
	}
	return m, nil
}

// ResultRow is a result to store for the check with database id CheckID.
type ResultRow struct {
	CheckID int64
	Result  status.Result
}

// resultColumns are check_results' columns in insert order.
const resultColumns = "check_id, checked_at, level, success, value, duration_seconds, message, details"

// maxRowsPerInsert keeps multi-row inserts under SQLite's bound-variable limit.
const maxRowsPerInsert = 500

func insertResults(ctx context.Context, tx *sqlx.Tx, rows []ResultRow) error {
	for len(rows) > 0 {
		n := min(len(rows), maxRowsPerInsert)
		chunk := rows[:n]
		rows = rows[n:]
		var b strings.Builder
		b.WriteString("INSERT INTO check_results (" + resultColumns + ") VALUES ")
		args := make([]any, 0, 8*n)
		for i, r := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
			details, err := marshalDetails(r.Result.Details)
			if err != nil {
				return err
			}
			var value sql.NullFloat64
			if r.Result.Value != nil {
				value = sql.NullFloat64{Float64: *r.Result.Value, Valid: true}
			}
			args = append(args, r.CheckID, r.Result.CheckedAt.UTC(), int(r.Result.Level), r.Result.Success,
				value, r.Result.Duration.Seconds(), r.Result.Message, details)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(b.String()), args...); err != nil {
			return fmt.Errorf("insert results: %w", err)
		}
	}
	return nil
}

func marshalDetails(d any) (string, error) {
	if status.NoDetails(d) {
		return "{}", nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encode result details: %w", err)
	}
	return string(b), nil
}

// resultRecord is a check_results row joined with its check.
type resultRecord struct {
	Resource        string          `db:"resource"`
	Name            string          `db:"name"`
	CheckedAt       time.Time       `db:"checked_at"`
	Level           int             `db:"level"`
	Success         bool            `db:"success"`
	Value           sql.NullFloat64 `db:"value"`
	DurationSeconds float64         `db:"duration_seconds"`
	Message         string          `db:"message"`
	Details         string          `db:"details"`
}

func (r resultRecord) result() status.Result {
	res := status.Result{
		Level:     status.Level(r.Level),
		Success:   r.Success,
		Message:   r.Message,
		Duration:  time.Duration(r.DurationSeconds * float64(time.Second)),
		CheckedAt: r.CheckedAt.UTC(),
	}
	if r.Value.Valid {
		res.Value = status.Float(r.Value.Float64)
	}
	if r.Details != "" && r.Details != "{}" {
		_ = json.Unmarshal([]byte(r.Details), &res.Details)
	}
	return res
}

const selectResults = `SELECT c.resource, c.name, r.checked_at, r.level, r.success, r.value, r.duration_seconds, r.message, r.details
	FROM check_results r JOIN checks c ON c.id = r.check_id`

// LatestResults returns the newest stored result of every check.
func (s *Store) LatestResults(ctx context.Context) (map[status.CheckID]status.Result, error) {
	var recs []resultRecord
	err := s.db.SelectContext(ctx, &recs, selectResults+`
		WHERE r.id IN (SELECT MAX(id) FROM check_results GROUP BY check_id)`)
	if err != nil {
		return nil, fmt.Errorf("read latest results: %w", err)
	}
	m := make(map[status.CheckID]status.Result, len(recs))
	for _, r := range recs {
		m[status.CheckID{Resource: r.Resource, Check: r.Name}] = r.result()
	}
	return m, nil
}

// Results returns up to limit results of a check, newest first.
func (s *Store) Results(ctx context.Context, id status.CheckID, limit int) ([]status.Result, error) {
	var recs []resultRecord
	err := s.db.SelectContext(ctx, &recs, s.db.Rebind(selectResults+`
		WHERE c.resource = ? AND c.name = ? ORDER BY r.id DESC LIMIT ?`), id.Resource, id.Check, limit)
	if err != nil {
		return nil, fmt.Errorf("read results of %s: %w", id, err)
	}
	out := make([]status.Result, len(recs))
	for i, r := range recs {
		out[i] = r.result()
	}
	return out, nil
}
