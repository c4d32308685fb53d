package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// DowntimePeriod is a period of downtime mode (package downtime has the
// rule: enabled ∧ start ≤ now ∧ (no end ∨ now ≤ end); no start never
// applies).
type DowntimePeriod struct {
	ID      int64        `db:"id"`
	Start   sql.NullTime `db:"start_at"`
	End     sql.NullTime `db:"end_at"`
	Enabled bool         `db:"enabled"`
	Reason  string       `db:"reason"`
	// Services are the services it puts in maintenance; none is all.
	Services []string `db:"-"`
}

// Active tells whether the period covers now.
func (p DowntimePeriod) Active(now time.Time) bool {
	return p.Enabled && p.Start.Valid && !now.Before(p.Start.Time) && (!p.End.Valid || !now.After(p.End.Time))
}

// ErrNoDowntime is a downtime period the store does not know, or, for
// EndDowntime, no open-ended period that has started.
var ErrNoDowntime = errors.New("no such downtime period")

// DowntimePeriods reads the enabled downtime periods that have not ended
// at now, with their services.
func (s *Store) DowntimePeriods(ctx context.Context, now time.Time) ([]DowntimePeriod, error) {
	var ps []DowntimePeriod
	if err := s.db.SelectContext(ctx, &ps, s.db.Rebind(`SELECT id, start_at, end_at, enabled, reason FROM downtime_periods
		WHERE enabled AND (end_at IS NULL OR end_at >= ?) ORDER BY id`), now.UTC()); err != nil {
		return nil, fmt.Errorf("read downtime periods: %w", err)
	}
	if len(ps) == 0 {
		return ps, nil
	}
	ids := make([]int64, len(ps))
	byID := map[int64]*DowntimePeriod{}
	for i := range ps {
		ps[i].Services = []string{}
		ids[i] = ps[i].ID
		byID[ps[i].ID] = &ps[i]
	}
	q, args, err := sqlx.In(`SELECT d.period_id, v.name FROM downtime_services d JOIN services v ON v.id = d.service_id
		WHERE d.period_id IN (?) ORDER BY v.name`, ids)
	if err != nil {
		return nil, err
	}
	var links []struct {
		PeriodID int64  `db:"period_id"`
		Name     string `db:"name"`
	}
	if err := s.db.SelectContext(ctx, &links, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("read downtime services: %w", err)
	}
	for _, l := range links {
		byID[l.PeriodID].Services = append(byID[l.PeriodID].Services, l.Name)
	}
	return ps, nil
}

// AddDowntime adds an enabled period of services (none: all).
func (t *Tx) AddDowntime(start time.Time, end *time.Time, reason string, serviceIDs []int64, now time.Time) (int64, error) {
	var ends sql.NullTime
	if end != nil {
		ends = sql.NullTime{Time: end.UTC(), Valid: true}
	}
	var id int64
	if err := t.get(&id, `INSERT INTO downtime_periods (start_at, end_at, enabled, reason, created_at, updated_at)
		VALUES (?, ?, TRUE, ?, ?, ?) RETURNING id`, start.UTC(), ends, reason, now.UTC(), now.UTC()); err != nil {
		return 0, fmt.Errorf("add downtime: %w", err)
	}
	for _, s := range serviceIDs {
		if _, err := t.exec("INSERT INTO downtime_services (period_id, service_id) VALUES (?, ?) ON CONFLICT DO NOTHING", id, s); err != nil {
			return 0, fmt.Errorf("add downtime: %w", err)
		}
	}
	return id, t.BumpBoard()
}

// EndDowntime ends, at now, the enabled periods in progress: the
// open-ended ones that have started, as django-downtime's `downtime end`
// does, and also those whose end is still ahead (a deploy that finished
// early). It returns their ids, ErrNoDowntime when there is none.
func (t *Tx) EndDowntime(now time.Time) ([]int64, error) {
	var ids []int64
	if err := t.selectRows(&ids, `SELECT id FROM downtime_periods WHERE enabled AND start_at IS NOT NULL AND start_at <= ?
		AND (end_at IS NULL OR end_at > ?) ORDER BY id`+t.forUpdate(), now.UTC(), now.UTC()); err != nil {
		return nil, fmt.Errorf("end downtime: %w", err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no downtime period is in progress: %w", ErrNoDowntime)
	}
	for _, id := range ids {
		if _, err := t.exec("UPDATE downtime_periods SET end_at = ?, updated_at = ? WHERE id = ?", now.UTC(), now.UTC(), id); err != nil {
			return nil, fmt.Errorf("end downtime: %w", err)
		}
	}
	return ids, t.BumpBoard()
}

// CancelDowntime removes a period.
func (t *Tx) CancelDowntime(id int64) error {
	return t.deleteByID("downtime_periods", "downtime period", id, ErrNoDowntime)
}
