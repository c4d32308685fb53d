package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/statusd/statusd/internal/status"
)

// Heartbeat is one report from a job to a heartbeat check.
type Heartbeat struct {
	ReceivedAt time.Time `db:"received_at"`
	// Failed is set when the job reported a failed run.
	Failed bool `db:"failed"`
	// Source is where the report came from (the client address).
	Source string `db:"source"`
}

// HeartbeatRow is a heartbeat to store for the check with database id CheckID.
type HeartbeatRow struct {
	CheckID   int64
	Heartbeat Heartbeat
}

func insertHeartbeats(ctx context.Context, tx *sqlx.Tx, rows []HeartbeatRow) error {
	if len(rows) == 0 {
		return nil
	}
	stmt, err := tx.PreparexContext(ctx, tx.Rebind("INSERT INTO heartbeats (check_id, received_at, failed, source) VALUES (?, ?, ?, ?)"))
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r.CheckID, r.Heartbeat.ReceivedAt.UTC(), r.Heartbeat.Failed, r.Heartbeat.Source); err != nil {
			return fmt.Errorf("insert heartbeat: %w", err)
		}
	}
	return nil
}

// LastHeartbeats returns the latest report of every check that had one.
func (s *Store) LastHeartbeats(ctx context.Context) (map[status.CheckID]Heartbeat, error) {
	return s.latestHeartbeats(ctx, `SELECT c.resource, c.name, h.received_at, h.failed, h.source
		FROM heartbeats h JOIN checks c ON c.id = h.check_id
		WHERE h.id IN (SELECT MAX(id) FROM heartbeats GROUP BY check_id)`)
}

// HeartbeatsSince returns the latest report of every check that had one
// received after since, by whichever statusd received it: how replicas
// see the reports that reached another one.
func (s *Store) HeartbeatsSince(ctx context.Context, since time.Time) (map[status.CheckID]Heartbeat, error) {
	return s.latestHeartbeats(ctx, s.db.Rebind(`SELECT c.resource, c.name, h.received_at, h.failed, h.source
		FROM heartbeats h JOIN checks c ON c.id = h.check_id
		WHERE h.received_at > ? ORDER BY h.received_at`), since.UTC())
}

// latestHeartbeats reads heartbeats, keeping the latest of each check.
func (s *Store) latestHeartbeats(ctx context.Context, query string, args ...any) (map[status.CheckID]Heartbeat, error) {
	var rows []struct {
		Resource string `db:"resource"`
		Name     string `db:"name"`
		Heartbeat
	}
	if err := s.db.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, fmt.Errorf("read heartbeats: %w", err)
	}
	m := make(map[status.CheckID]Heartbeat, len(rows))
	for _, r := range rows {
		r.ReceivedAt = r.ReceivedAt.UTC()
		id := status.CheckID{Resource: r.Resource, Check: r.Name}
		if cur, ok := m[id]; !ok || r.ReceivedAt.After(cur.ReceivedAt) {
			m[id] = r.Heartbeat
		}
	}
	return m, nil
}
