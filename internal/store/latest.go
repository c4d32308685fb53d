package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/statusd/statusd/internal/status"
)

// SharedResult is the latest result of a check, in a location ("" for
// a check without locations), as the member that ran it shared it with
// the others.
type SharedResult struct {
	ID        status.CheckID
	Location  string
	Owner     string
	Result    status.Result
	WrittenAt time.Time
}

// maxSharedPerInsert keeps a multi-row upsert (7 values a row) well under
// SQLite's bound-variable limit and PostgreSQL's 65,535.
const maxSharedPerInsert = 1000

// ShareResults writes the latest result of each check and location that
// owner ran, at now, in one statement per thousand. A result older than
// the one stored (another member ran the check since) is not written.
func (s *Store) ShareResults(ctx context.Context, owner string, now time.Time, results []SharedResult) error {
	// In one order for every writer: during a handover two members write
	// the same rows, and upserts in different orders would deadlock.
	rows := slices.Clone(results)
	slices.SortFunc(rows, func(a, b SharedResult) int {
		return cmp.Or(strings.Compare(a.ID.Resource, b.ID.Resource), strings.Compare(a.ID.Check, b.ID.Check), strings.Compare(a.Location, b.Location))
	})
	now = now.UTC()
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		for len(rows) > 0 {
			chunk := rows[:min(len(rows), maxSharedPerInsert)]
			rows = rows[len(chunk):]
			var b strings.Builder
			b.WriteString("INSERT INTO check_latest (resource, name, location, owner, checked_at, written_at, result) VALUES ")
			args := make([]any, 0, 7*len(chunk))
			for i, r := range chunk {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
				j, err := json.Marshal(r.Result)
				if err != nil {
					return fmt.Errorf("encode the result of %s: %w", r.ID, err)
				}
				args = append(args, r.ID.Resource, r.ID.Check, r.Location, owner, r.Result.CheckedAt.UTC(), now, string(j))
			}
			b.WriteString(` ON CONFLICT (resource, name, location) DO UPDATE SET owner = excluded.owner, checked_at = excluded.checked_at,
				written_at = excluded.written_at, result = excluded.result
				WHERE check_latest.checked_at <= excluded.checked_at`)
			if _, err := tx.ExecContext(ctx, tx.Rebind(b.String()), args...); err != nil {
				return fmt.Errorf("share latest results: %w", err)
			}
		}
		return nil
	})
}

// SharedResultsSince returns the latest results that members other than
// self wrote after since. When newer is set, only the results it accepts
// are decoded and returned: it is given each one's ID, Location, Owner
// and the time its run started (Result.CheckedAt), which skips, for the
// cost of a comparison, the results the caller read before.
func (s *Store) SharedResultsSince(ctx context.Context, since time.Time, self string, newer func(SharedResult) bool) ([]SharedResult, error) {
	var recs []struct {
		Resource  string    `db:"resource"`
		Name      string    `db:"name"`
		Location  string    `db:"location"`
		Owner     string    `db:"owner"`
		CheckedAt time.Time `db:"checked_at"`
		WrittenAt time.Time `db:"written_at"`
		Result    string    `db:"result"`
	}
	err := s.db.SelectContext(ctx, &recs, s.db.Rebind(`SELECT resource, name, location, owner, checked_at, written_at, result FROM check_latest
		WHERE written_at > ? AND owner <> ?`), since.UTC(), self)
	if err != nil {
		return nil, fmt.Errorf("read shared results: %w", err)
	}
	out := make([]SharedResult, 0, len(recs))
	for _, r := range recs {
		sr := SharedResult{ID: status.CheckID{Resource: r.Resource, Check: r.Name}, Location: r.Location, Owner: r.Owner,
			WrittenAt: r.WrittenAt.UTC(), Result: status.Result{CheckedAt: r.CheckedAt.UTC()}}
		if newer != nil && !newer(sr) {
			continue
		}
		if err := json.Unmarshal([]byte(r.Result), &sr.Result); err != nil {
			return nil, fmt.Errorf("decode the shared result of %s: %w", sr.ID, err)
		}
		out = append(out, sr)
	}
	return out, nil
}
