package probe

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// sqlValue is a value monitor: a read-only query that returns one number
// (the length of a mail queue, the age in seconds of the newest row), which
// feeds the check's warning and problem thresholds. django_status's
// monitors, for any database.
type sqlValue struct {
	db    *database
	query string
}

func newSQL(_ status.CheckID, c *config.Check, env Env) (Prober, error) {
	db, err := openDatabase(string(c.SQL.DSN), env.Logger)
	if err != nil {
		return nil, err
	}
	return &sqlValue{db: db, query: c.SQL.Query}, nil
}

// Probe implements Prober.
func (s *sqlValue) Probe(ctx context.Context) status.Result {
	start := time.Now()
	v, err := s.run(ctx)
	if err != nil {
		return fail("%s", s.db.secrets.scrub(describeErr(ctx, err)))
	}
	return ok(status.Float(v), nil, "%s in %s", strconv.FormatFloat(v, 'g', -1, 64), Human(time.Since(start)))
}

func (s *sqlValue) run(ctx context.Context) (float64, error) {
	conn, err := s.db.conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	// SQLite is opened read-only already, and its driver refuses the flag.
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: s.db.dialect != "sqlite"})
	if err != nil {
		return 0, fmt.Errorf("begin a read-only transaction: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep
	rows, err := tx.QueryContext(ctx, s.query)
	if err != nil {
		return 0, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	if len(cols) != 1 {
		return 0, fmt.Errorf("query returned %d columns; it must return one number", len(cols))
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("query: %w", err)
		}
		return 0, fmt.Errorf("query returned no row; it must return one number")
	}
	var v any
	if err := rows.Scan(&v); err != nil {
		return 0, err
	}
	if rows.Next() {
		return 0, fmt.Errorf("query returned more than one row; it must return one number")
	}
	return toNumber(v)
}

// toNumber converts what a driver returns for a numeric column.
func toNumber(v any) (float64, error) {
	switch n := v.(type) {
	case int64:
		return float64(n), nil
	case float64:
		return n, nil
	case bool:
		if n {
			return 1, nil
		}
		return 0, nil
	case []byte:
		return parseNumber(string(n))
	case string:
		return parseNumber(n)
	case nil:
		return 0, fmt.Errorf("query returned NULL; use COALESCE to give a number")
	case time.Time:
		return 0, fmt.Errorf("query returned a time, not a number; compute an age in seconds instead")
	}
	return 0, fmt.Errorf("query returned %T, not a number", v)
}

func parseNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("query returned %q, not a number", truncate(s, 40))
	}
	return f, nil
}
