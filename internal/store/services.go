package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/statusd/statusd/internal/status"
)

// Sources of groups and services.
const (
	SourceConfig = "config"
	SourceAdmin  = "admin"
)

// GroupSpec is a group as the config defines it.
type GroupSpec struct {
	Name     string
	Priority int
	Collapse string
}

// ServiceSpec is a service as the config defines it.
type ServiceSpec struct {
	Name         string
	Group        string
	Description  string
	Link         string
	Priority     int
	Checks       []status.CheckID
	OnProblem    status.ServiceStatus
	AutoIncident bool
}

// SyncConfig writes the config's groups and services: new ones are added,
// existing ones updated (a service defined by the admin under the same
// name is taken over), and config-defined ones the config no longer has
// are removed. Statuses and history are kept.
func (s *Store) SyncConfig(ctx context.Context, groups []GroupSpec, services []ServiceSpec, now time.Time) error {
	err := s.Update(ctx, func(t *Tx) error {
		now := now.UTC()
		groupIDs := map[string]int64{}
		for _, g := range groups {
			var id int64
			err := t.get(&id, `INSERT INTO service_groups (name, priority, collapse, source, created_at, updated_at) VALUES (?, ?, ?, 'config', ?, ?)
				ON CONFLICT (name) DO UPDATE SET priority = excluded.priority, collapse = excluded.collapse, source = 'config', updated_at = excluded.updated_at
				RETURNING id`, g.Name, g.Priority, g.Collapse, now, now)
			if err != nil {
				return fmt.Errorf("group %s: %w", g.Name, err)
			}
			groupIDs[g.Name] = id
		}
		keepGroups := make([]string, 0, len(groups))
		for _, g := range groups {
			keepGroups = append(keepGroups, g.Name)
		}
		if err := t.deleteConfigRows("service_groups", keepGroups); err != nil {
			return err
		}
		for _, sv := range services {
			if sv.OnProblem != status.MajorOutage {
				sv.OnProblem = status.PartialOutage
			}
			var group sql.NullInt64
			if sv.Group != "" {
				group = sql.NullInt64{Int64: groupIDs[sv.Group], Valid: true}
			}
			var id int64
			err := t.get(&id, `INSERT INTO services (name, description, href, group_id, priority, on_problem, auto_incident, source, status, status_changed_at, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, 'config', 0, ?, ?, ?)
				ON CONFLICT (name) DO UPDATE SET description = excluded.description, href = excluded.href, group_id = excluded.group_id,
					priority = excluded.priority, on_problem = excluded.on_problem, auto_incident = excluded.auto_incident,
					source = 'config', updated_at = excluded.updated_at
				RETURNING id`, sv.Name, sv.Description, sv.Link, group, sv.Priority, int(sv.OnProblem), sv.AutoIncident, now, now, now)
			if err != nil {
				return fmt.Errorf("service %s: %w", sv.Name, err)
			}
			if _, err := t.exec("DELETE FROM service_checks WHERE service_id = ?", id); err != nil {
				return err
			}
			for _, c := range sv.Checks {
				if _, err := t.exec("INSERT INTO service_checks (service_id, resource, name) VALUES (?, ?, ?)", id, c.Resource, c.Check); err != nil {
					return fmt.Errorf("service %s: check %s: %w", sv.Name, c, err)
				}
			}
		}
		keep := make([]string, 0, len(services))
		for _, sv := range services {
			keep = append(keep, sv.Name)
		}
		if err := t.deleteConfigRows("services", keep); err != nil {
			return err
		}
		return t.BumpBoard()
	})
	if err != nil {
		return fmt.Errorf("write the config's services: %w", err)
	}
	return nil
}

// deleteConfigRows removes the config-defined rows of a table whose name
// is not in keep.
func (t *Tx) deleteConfigRows(table string, keep []string) error {
	var names []string
	if err := t.selectRows(&names, "SELECT name FROM "+table+" WHERE source = 'config'"); err != nil {
		return err
	}
	for _, n := range names {
		if slices.Contains(keep, n) {
			continue
		}
		if _, err := t.exec("DELETE FROM "+table+" WHERE name = ?", n); err != nil {
			return fmt.Errorf("remove %s: %w", n, err)
		}
	}
	return nil
}

// ServiceRow is a service as stored.
type ServiceRow struct {
	ID              int64          `db:"id"`
	Name            string         `db:"name"`
	Description     string         `db:"description"`
	Link            string         `db:"href"`
	GroupID         sql.NullInt64  `db:"group_id"`
	Group           sql.NullString `db:"group_name"`
	Priority        int            `db:"priority"`
	Status          int            `db:"status"`
	ManualStatus    sql.NullInt16  `db:"manual_status"`
	ManualReason    string         `db:"manual_reason"`
	Maintenance     bool           `db:"maintenance"`
	OnProblem       int            `db:"on_problem"`
	AutoIncident    bool           `db:"auto_incident"`
	Source          string         `db:"source"`
	StatusChangedAt sql.NullTime   `db:"status_changed_at"`
	CreatedAt       time.Time      `db:"created_at"`
	UpdatedAt       time.Time      `db:"updated_at"`
}

const selectServices = `SELECT s.id, s.name, s.description, s.href, s.group_id, g.name AS group_name, s.priority, s.status,
	s.manual_status, s.manual_reason, s.maintenance, s.on_problem, s.auto_incident, s.source, s.status_changed_at, s.created_at, s.updated_at
	FROM services s LEFT JOIN service_groups g ON g.id = s.group_id`

// Manual returns the status an operator set, if any.
func (r ServiceRow) Manual() *status.ServiceStatus {
	if !r.ManualStatus.Valid {
		return nil
	}
	s := status.ServiceStatus(r.ManualStatus.Int16)
	return &s
}

// Service reads, and on PostgreSQL locks, a service by name; ErrNoService
// when there is none. The row is locked before it is read, so that two
// transactions deciding about one service take turns and the second reads
// what the first wrote (read after the lock, not before it).
func (t *Tx) Service(name string) (ServiceRow, error) {
	var r ServiceRow
	if t.dialect == Postgres {
		// A join cannot be locked whole: lock the service's own row.
		var id int64
		err := t.get(&id, "SELECT id FROM services WHERE name = ? FOR UPDATE", name)
		if errors.Is(err, sql.ErrNoRows) {
			return r, fmt.Errorf("service %q: %w", name, ErrNoService)
		}
		if err != nil {
			return r, fmt.Errorf("lock service %s: %w", name, err)
		}
	}
	err := t.get(&r, "SELECT * FROM ("+selectServices+") x WHERE name = ?", name)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("service %q: %w", name, ErrNoService)
	}
	if err != nil {
		return r, fmt.Errorf("read service %s: %w", name, err)
	}
	return r, nil
}

// ErrNoService is a service name the store does not know.
var ErrNoService = errors.New("no such service")

// Services reads every service, by priority (highest first) then name.
func (s *Store) Services(ctx context.Context) ([]ServiceRow, error) {
	var rows []ServiceRow
	if err := s.selectPrepared(ctx, &rows, selectServices+" ORDER BY s.priority DESC, s.name"); err != nil {
		return nil, fmt.Errorf("read services: %w", err)
	}
	return rows, nil
}

// ServiceChecks reads the checks of every service, by service id.
func (s *Store) ServiceChecks(ctx context.Context) (map[int64][]status.CheckID, error) {
	var rows []struct {
		ServiceID int64  `db:"service_id"`
		Resource  string `db:"resource"`
		Name      string `db:"name"`
	}
	if err := s.db.SelectContext(ctx, &rows, "SELECT service_id, resource, name FROM service_checks ORDER BY service_id, resource, name"); err != nil {
		return nil, fmt.Errorf("read service checks: %w", err)
	}
	m := map[int64][]status.CheckID{}
	for _, r := range rows {
		m[r.ServiceID] = append(m[r.ServiceID], status.CheckID{Resource: r.Resource, Check: r.Name})
	}
	return m, nil
}

// GroupRow is a group of services as stored.
type GroupRow struct {
	ID       int64  `db:"id" json:"id"`
	Name     string `db:"name" json:"name"`
	Priority int    `db:"priority" json:"priority"`
	Collapse string `db:"collapse" json:"collapse"`
	Source   string `db:"source" json:"source"`
}

// Groups reads every group, by priority (highest first) then name.
func (s *Store) Groups(ctx context.Context) ([]GroupRow, error) {
	var rows []GroupRow
	if err := s.db.SelectContext(ctx, &rows, "SELECT id, name, priority, collapse, source FROM service_groups ORDER BY priority DESC, name"); err != nil {
		return nil, fmt.Errorf("read groups: %w", err)
	}
	return rows, nil
}

// Causes of a service's change of status.
const (
	CauseChecks      = "checks"
	CauseManual      = "manual"
	CauseMaintenance = "maintenance"
)

// StatusChange is one change of a service's status or maintenance flag.
type StatusChange struct {
	ID          int64     `db:"id" json:"-"`
	Service     string    `db:"service" json:"-"`
	At          time.Time `db:"changed_at" json:"at"`
	Old         int       `db:"old_status" json:"-"`
	New         int       `db:"new_status" json:"-"`
	Maintenance bool      `db:"maintenance" json:"maintenance"`
	Cause       string    `db:"cause" json:"cause"`
	Reason      string    `db:"reason" json:"reason,omitempty"`
}

// SetServiceStatus records a service's new status and maintenance flag,
// with a history row, when they differ from the stored ones; it returns
// the change, nil when there was none. The service must have been read
// (and locked) with Service in the same transaction.
func (t *Tx) SetServiceStatus(sv ServiceRow, to status.ServiceStatus, maintenance bool, cause, reason string, now time.Time) (*StatusChange, error) {
	if status.ServiceStatus(sv.Status) == to && sv.Maintenance == maintenance {
		return nil, nil
	}
	now = now.UTC()
	changedAt := sv.StatusChangedAt
	if status.ServiceStatus(sv.Status) != to || !changedAt.Valid {
		changedAt = sql.NullTime{Time: now, Valid: true}
	}
	if _, err := t.exec("UPDATE services SET status = ?, maintenance = ?, status_changed_at = ?, updated_at = ? WHERE id = ?",
		int(to), maintenance, changedAt, now, sv.ID); err != nil {
		return nil, fmt.Errorf("set status of %s: %w", sv.Name, err)
	}
	c := &StatusChange{Service: sv.Name, At: now, Old: sv.Status, New: int(to), Maintenance: maintenance, Cause: cause, Reason: reason}
	if err := t.get(&c.ID, `INSERT INTO service_status_changes (service_id, changed_at, old_status, new_status, maintenance, cause, reason)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, sv.ID, now, sv.Status, int(to), maintenance, cause, reason); err != nil {
		return nil, fmt.Errorf("record the change of %s: %w", sv.Name, err)
	}
	return c, t.BumpBoard()
}

// SetManualStatus sets (or, with nil, clears) the status an operator gives
// a service; it wins over its checks until cleared.
func (t *Tx) SetManualStatus(sv ServiceRow, manual *status.ServiceStatus, reason string, now time.Time) error {
	var v sql.NullInt16
	if manual != nil {
		v = sql.NullInt16{Int16: int16(*manual), Valid: true}
	}
	if _, err := t.exec("UPDATE services SET manual_status = ?, manual_reason = ?, updated_at = ? WHERE id = ?", v, reason, now.UTC(), sv.ID); err != nil {
		return fmt.Errorf("set the manual status of %s: %w", sv.Name, err)
	}
	return t.BumpBoard()
}

// ServiceHistory reads a service's changes, newest first.
func (s *Store) ServiceHistory(ctx context.Context, name string, limit int) ([]StatusChange, error) {
	var rows []StatusChange
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT c.id, s.name AS service, c.changed_at, c.old_status, c.new_status, c.maintenance, c.cause, c.reason
		FROM service_status_changes c JOIN services s ON s.id = c.service_id
		WHERE s.name = ? ORDER BY c.changed_at DESC, c.id DESC LIMIT ?`), name, limit)
	if err != nil {
		return nil, fmt.Errorf("read the history of %s: %w", name, err)
	}
	for i := range rows {
		rows[i].At = rows[i].At.UTC()
	}
	return rows, nil
}

// RecentChanges reads the latest changes of every service, at most limit
// each, newest first, by service name.
func (s *Store) RecentChanges(ctx context.Context, limit int) (map[string][]StatusChange, error) {
	var rows []StatusChange
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT id, service, changed_at, old_status, new_status, maintenance, cause, reason FROM (
		SELECT c.id, s.name AS service, c.changed_at, c.old_status, c.new_status, c.maintenance, c.cause, c.reason,
			ROW_NUMBER() OVER (PARTITION BY c.service_id ORDER BY c.changed_at DESC, c.id DESC) AS n
		FROM service_status_changes c JOIN services s ON s.id = c.service_id) x
		WHERE n <= ? ORDER BY service, changed_at DESC, id DESC`), limit)
	if err != nil {
		return nil, fmt.Errorf("read service histories: %w", err)
	}
	m := map[string][]StatusChange{}
	for _, r := range rows {
		r.At = r.At.UTC()
		m[r.Service] = append(m[r.Service], r)
	}
	return m, nil
}

// BoardVersion is the version of what the status page shows; it grows
// with every change.
func (s *Store) BoardVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.getPrepared(ctx, &v, "SELECT version FROM board_version WHERE id = 1"); err != nil {
		return 0, fmt.Errorf("read the board version: %w", err)
	}
	return v, nil
}

// EvaluatorState is what the evaluator persisted.
type EvaluatorState struct {
	Checks    map[status.CheckID]CheckState
	Receivers map[status.CheckID]map[string]ReceiverState
}

// LoadEvaluatorState reads every check's evaluated state and what each
// receiver was told.
func (s *Store) LoadEvaluatorState(ctx context.Context) (*EvaluatorState, error) {
	st := &EvaluatorState{Checks: map[status.CheckID]CheckState{}, Receivers: map[status.CheckID]map[string]ReceiverState{}}
	var checks []struct {
		Resource       string    `db:"resource"`
		Name           string    `db:"name"`
		Level          int       `db:"level"`
		Since          time.Time `db:"level_since"`
		AtLeastWarning int       `db:"consecutive_failures"`
		AtLeastProblem int       `db:"problem_streak"`
		AtMostFine     int       `db:"consecutive_successes"`
		AtMostWarning  int       `db:"not_problem_streak"`
	}
	if err := s.db.SelectContext(ctx, &checks, `SELECT c.resource, c.name, s.level, s.level_since, s.consecutive_failures, s.problem_streak,
		s.consecutive_successes, s.not_problem_streak FROM check_state s JOIN checks c ON c.id = s.check_id`); err != nil {
		return nil, fmt.Errorf("read check states: %w", err)
	}
	for _, c := range checks {
		st.Checks[status.CheckID{Resource: c.Resource, Check: c.Name}] = CheckState{
			Level: status.Level(c.Level), Since: c.Since.UTC(),
			AtLeastWarning: c.AtLeastWarning, AtLeastProblem: c.AtLeastProblem, AtMostFine: c.AtMostFine, AtMostWarning: c.AtMostWarning,
		}
	}
	var receivers []struct {
		Resource string `db:"resource"`
		Name     string `db:"name"`
		Receiver string `db:"receiver"`
		receiverStateRow
	}
	if err := s.db.SelectContext(ctx, &receivers, `SELECT c.resource, c.name, n.receiver, n.level, n.notified_at, n.episode, n.sent, n.suppressed
		FROM notification_state n JOIN checks c ON c.id = n.check_id`); err != nil {
		return nil, fmt.Errorf("read notification states: %w", err)
	}
	for _, r := range receivers {
		id := status.CheckID{Resource: r.Resource, Check: r.Name}
		if st.Receivers[id] == nil {
			st.Receivers[id] = map[string]ReceiverState{}
		}
		st.Receivers[id][r.Receiver] = r.state()
	}
	return st, nil
}
