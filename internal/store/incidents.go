package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/statusd/statusd/internal/status"
)

// Incident states; an incident is closed when its latest update is
// resolved.
const (
	Investigating = "investigating"
	Identified    = "identified"
	Monitoring    = "monitoring"
	Resolved      = "resolved"
)

// IncidentStates are the states of an incident update, in order.
var IncidentStates = []string{Investigating, Identified, Monitoring, Resolved}

// Impacts of an incident, from none to critical: its colour on the page.
const (
	ImpactNone     = "none"
	ImpactMinor    = "minor"
	ImpactMajor    = "major"
	ImpactCritical = "critical"
)

// Impacts are the impacts, in order.
var Impacts = []string{ImpactNone, ImpactMinor, ImpactMajor, ImpactCritical}

// Incident is an incident with its services and its updates, newest
// first.
type Incident struct {
	ID        int64     `db:"id" json:"id"`
	Title     string    `db:"name" json:"title"`
	Impact    string    `db:"impact" json:"impact"`
	Occurred  time.Time `db:"occurred_at" json:"occurred"`
	Closed    bool      `db:"closed" json:"closed"`
	Automatic bool      `db:"automatic" json:"automatic"`
	CreatedAt time.Time `db:"created_at" json:"created"`
	UpdatedAt time.Time `db:"updated_at" json:"updated"`
	Services  []string  `db:"-" json:"services"`
	// Statuses are the statuses the incident set on its services by
	// hand (cleared when it is resolved), by service name.
	Statuses map[string]string `db:"-" json:"statuses"`
	Updates  []IncidentUpdate  `db:"-" json:"updates"`
}

// State is the state of the latest update that is not a note.
func (i *Incident) State() string {
	for _, u := range i.Updates {
		if !u.Note {
			return u.State
		}
	}
	return Investigating
}

// IncidentUpdate is one step of an incident.
type IncidentUpdate struct {
	ID         int64  `db:"id" json:"id"`
	IncidentID int64  `db:"incident_id" json:"-"`
	State      string `db:"state" json:"state"`
	Message    string `db:"description" json:"message"`
	// Note marks statusd's own line in an operator's incident: it does
	// not change the incident's state (State is the one it had).
	Note      bool      `db:"note" json:"note"`
	CreatedAt time.Time `db:"created_at" json:"created"`
}

// ErrNoIncident is an incident id the store does not know.
var ErrNoIncident = errors.New("no such incident")

// OpenIncident creates an incident about services with a first update.
func (t *Tx) OpenIncident(title string, serviceIDs []int64, state, msg string, automatic bool, now time.Time) (int64, error) {
	now = now.UTC()
	var id int64
	if err := t.get(&id, `INSERT INTO incidents (name, occurred_at, closed, automatic, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, title, now, state == Resolved, automatic, now, now); err != nil {
		return 0, fmt.Errorf("open incident: %w", err)
	}
	for _, s := range serviceIDs {
		if _, err := t.exec("INSERT INTO incident_services (incident_id, service_id) VALUES (?, ?) ON CONFLICT DO NOTHING", id, s); err != nil {
			return 0, fmt.Errorf("open incident: link service: %w", err)
		}
	}
	if err := t.AddIncidentUpdate(id, state, msg, now); err != nil {
		return 0, err
	}
	return id, nil
}

// DateIncident sets when an incident occurred, for an incident written
// up after the fact; its updates keep when they were written.
func (t *Tx) DateIncident(id int64, occurred time.Time) error {
	res, err := t.exec("UPDATE incidents SET occurred_at = ? WHERE id = ?", occurred.UTC(), id)
	if err != nil {
		return fmt.Errorf("date incident %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("incident %d: %w", id, ErrNoIncident)
	}
	return t.BumpBoard()
}

// AddIncidentUpdate adds an update to an incident, which is closed when
// the update resolves it and open otherwise.
func (t *Tx) AddIncidentUpdate(id int64, state, msg string, now time.Time) error {
	now = now.UTC()
	res, err := t.exec("UPDATE incidents SET closed = ?, updated_at = ? WHERE id = ?", state == Resolved, now, id)
	if err != nil {
		return fmt.Errorf("update incident %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("incident %d: %w", id, ErrNoIncident)
	}
	if _, err := t.exec("INSERT INTO incident_updates (incident_id, state, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
		id, state, msg, now, now); err != nil {
		return fmt.Errorf("update incident %d: %w", id, err)
	}
	return t.BumpBoard()
}

// OpenIncidentOf returns the newest open incident about a service, nil
// when there is none; automaticOnly limits it to the ones statusd opened.
func (t *Tx) OpenIncidentOf(serviceID int64, automaticOnly bool) (*Incident, error) {
	q := `SELECT i.id, i.name, i.impact, i.occurred_at, i.closed, i.automatic, i.created_at, i.updated_at
		FROM incidents i JOIN incident_services s ON s.incident_id = i.id
		WHERE s.service_id = ? AND NOT i.closed`
	if automaticOnly {
		q += " AND i.automatic"
	}
	var inc Incident
	err := t.get(&inc, q+" ORDER BY i.occurred_at DESC, i.id DESC LIMIT 1", serviceID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read open incidents: %w", err)
	}
	return &inc, nil
}

// IncidentState is the state of an incident's latest update.
func (t *Tx) IncidentState(id int64) (string, error) {
	var state string
	err := t.get(&state, "SELECT state FROM incident_updates WHERE incident_id = ? AND NOT note ORDER BY created_at DESC, id DESC LIMIT 1", id)
	if errors.Is(err, sql.ErrNoRows) {
		return Investigating, nil
	}
	if err != nil {
		return "", fmt.Errorf("read the state of incident %d: %w", id, err)
	}
	return state, nil
}

// IncidentQuery selects incidents.
type IncidentQuery struct {
	// State is "open", "closed" or "" for both.
	State string
	// Since keeps incidents that occurred at or after it (zero: all).
	Since time.Time
	// OrOpen keeps open incidents whatever Since says.
	OrOpen bool
	// Before keeps incidents that occurred before it (zero: all).
	Before time.Time
	// Limit and Offset page the result (Limit 0: no limit).
	Limit, Offset int
}

// Incidents reads incidents, newest first, with their services and
// updates, and how many match in all.
func (s *Store) Incidents(ctx context.Context, q IncidentQuery) ([]Incident, int, error) {
	var where []string
	var args []any
	switch q.State {
	case "open":
		where = append(where, "NOT closed")
	case "closed":
		where = append(where, "closed")
	}
	if !q.Since.IsZero() {
		if q.OrOpen {
			where = append(where, "(occurred_at >= ? OR NOT closed)")
		} else {
			where = append(where, "occurred_at >= ?")
		}
		args = append(args, q.Since.UTC())
	}
	if !q.Before.IsZero() {
		where = append(where, "occurred_at < ?")
		args = append(args, q.Before.UTC())
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.db.GetContext(ctx, &total, s.db.Rebind("SELECT COUNT(*) FROM incidents"+cond), args...); err != nil {
		return nil, 0, fmt.Errorf("count incidents: %w", err)
	}
	query := "SELECT " + incidentColumns + " FROM incidents" + cond + " ORDER BY occurred_at DESC, id DESC"
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d OFFSET %d", q.Limit, q.Offset)
	}
	var incidents []Incident
	if err := s.db.SelectContext(ctx, &incidents, s.db.Rebind(query), args...); err != nil {
		return nil, 0, fmt.Errorf("read incidents: %w", err)
	}
	if err := s.fillIncidents(ctx, incidents); err != nil {
		return nil, 0, err
	}
	return incidents, total, nil
}

const incidentColumns = "id, name, impact, occurred_at, closed, automatic, created_at, updated_at"

// Incident reads one incident.
func (s *Store) Incident(ctx context.Context, id int64) (*Incident, error) {
	return readIncident(s.selector(ctx), id)
}

// Incident reads one incident as this transaction sees it.
func (t *Tx) Incident(id int64) (*Incident, error) {
	return readIncident(t.selectRows, id)
}

// selectFunc runs a query (with ? placeholders) into dest.
type selectFunc func(dest any, query string, args ...any) error

func (s *Store) selector(ctx context.Context) selectFunc {
	return func(dest any, query string, args ...any) error {
		return s.db.SelectContext(ctx, dest, s.db.Rebind(query), args...)
	}
}

func readIncident(sel selectFunc, id int64) (*Incident, error) {
	var inc []Incident
	if err := sel(&inc, "SELECT "+incidentColumns+" FROM incidents WHERE id = ?", id); err != nil {
		return nil, fmt.Errorf("read incident %d: %w", id, err)
	}
	if len(inc) == 0 {
		return nil, fmt.Errorf("incident %d: %w", id, ErrNoIncident)
	}
	if err := fillIncidents(sel, inc); err != nil {
		return nil, err
	}
	return &inc[0], nil
}

// fillIncidents reads the services and updates of incidents.
func (s *Store) fillIncidents(ctx context.Context, incidents []Incident) error {
	return fillIncidents(s.selector(ctx), incidents)
}

func fillIncidents(sel selectFunc, incidents []Incident) error {
	if len(incidents) == 0 {
		return nil
	}
	ids := make([]int64, len(incidents))
	byID := map[int64]*Incident{}
	for i := range incidents {
		inc := &incidents[i]
		inc.Occurred, inc.CreatedAt, inc.UpdatedAt = inc.Occurred.UTC(), inc.CreatedAt.UTC(), inc.UpdatedAt.UTC()
		inc.Services, inc.Statuses, inc.Updates = []string{}, map[string]string{}, []IncidentUpdate{}
		ids[i] = inc.ID
		byID[inc.ID] = inc
	}
	q, args, err := sqlx.In(`SELECT s.incident_id, v.name, s.status FROM incident_services s JOIN services v ON v.id = s.service_id
		WHERE s.incident_id IN (?) ORDER BY v.priority DESC, v.name`, ids)
	if err != nil {
		return err
	}
	var links []struct {
		IncidentID int64         `db:"incident_id"`
		Name       string        `db:"name"`
		Status     sql.NullInt16 `db:"status"`
	}
	if err := sel(&links, q, args...); err != nil {
		return fmt.Errorf("read incident services: %w", err)
	}
	for _, l := range links {
		inc := byID[l.IncidentID]
		inc.Services = append(inc.Services, l.Name)
		if l.Status.Valid {
			inc.Statuses[l.Name] = status.ServiceStatus(l.Status.Int16).String()
		}
	}
	q, args, err = sqlx.In(`SELECT id, incident_id, state, description, note, created_at FROM incident_updates
		WHERE incident_id IN (?) ORDER BY created_at DESC, id DESC`, ids)
	if err != nil {
		return err
	}
	var updates []IncidentUpdate
	if err := sel(&updates, q, args...); err != nil {
		return fmt.Errorf("read incident updates: %w", err)
	}
	for _, u := range updates {
		u.CreatedAt = u.CreatedAt.UTC()
		byID[u.IncidentID].Updates = append(byID[u.IncidentID].Updates, u)
	}
	return nil
}

// Maintenance is a maintenance window: from its start until its end, or
// until cancelled when it has none.
type Maintenance struct {
	ID          int64        `db:"id" json:"id"`
	Title       string       `db:"name" json:"title"`
	Description string       `db:"description" json:"description"`
	StartsAt    time.Time    `db:"starts_at" json:"starts"`
	EndsAt      sql.NullTime `db:"ends_at" json:"-"`
	Services    []string     `db:"-" json:"services"`
}

// End is when the window ends, nil when it has no end.
func (m *Maintenance) End() *time.Time {
	if !m.EndsAt.Valid {
		return nil
	}
	t := m.EndsAt.Time.UTC()
	return &t
}

// Active tells whether the window covers now: start ≤ now < end.
func (m *Maintenance) Active(now time.Time) bool {
	return !now.Before(m.StartsAt) && (!m.EndsAt.Valid || now.Before(m.EndsAt.Time))
}

// AddMaintenance schedules a maintenance window of services.
func (t *Tx) AddMaintenance(title, description string, start time.Time, end *time.Time, serviceIDs []int64, now time.Time) (int64, error) {
	var ends sql.NullTime
	if end != nil {
		ends = sql.NullTime{Time: end.UTC(), Valid: true}
	}
	var id int64
	if err := t.get(&id, `INSERT INTO maintenances (name, description, starts_at, ends_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, title, description, start.UTC(), ends, now.UTC(), now.UTC()); err != nil {
		return 0, fmt.Errorf("add maintenance: %w", err)
	}
	for _, s := range serviceIDs {
		if _, err := t.exec("INSERT INTO maintenance_services (maintenance_id, service_id) VALUES (?, ?) ON CONFLICT DO NOTHING", id, s); err != nil {
			return 0, fmt.Errorf("add maintenance: %w", err)
		}
	}
	return id, t.BumpBoard()
}

// Maintenances reads the windows that have not ended at now, soonest
// first, with their services.
func (s *Store) Maintenances(ctx context.Context, now time.Time) ([]Maintenance, error) {
	return s.maintenances(ctx, "ends_at IS NULL OR ends_at > ?", now.UTC())
}

// MaintenancesEnded reads the windows that ended after from and by to.
func (s *Store) MaintenancesEnded(ctx context.Context, from, to time.Time) ([]Maintenance, error) {
	return s.maintenances(ctx, "ends_at > ? AND ends_at <= ?", from.UTC(), to.UTC())
}

// maintenances reads the windows that meet a condition, with their
// services.
func (s *Store) maintenances(ctx context.Context, where string, args ...any) ([]Maintenance, error) {
	var ms []Maintenance
	if err := s.selectPrepared(ctx, &ms, `SELECT id, name, description, starts_at, ends_at FROM maintenances
		WHERE `+where+` ORDER BY starts_at, id`, args...); err != nil {
		return nil, fmt.Errorf("read maintenances: %w", err)
	}
	if len(ms) == 0 {
		return ms, nil
	}
	byID := map[int64]*Maintenance{}
	ids := make([]int64, len(ms))
	for i := range ms {
		ms[i].StartsAt = ms[i].StartsAt.UTC()
		ms[i].Services = []string{}
		byID[ms[i].ID] = &ms[i]
		ids[i] = ms[i].ID
	}
	q, args, err := sqlx.In(`SELECT m.maintenance_id, v.name FROM maintenance_services m JOIN services v ON v.id = m.service_id
		WHERE m.maintenance_id IN (?) ORDER BY v.name`, ids)
	if err != nil {
		return nil, err
	}
	var links []struct {
		ID   int64  `db:"maintenance_id"`
		Name string `db:"name"`
	}
	if err := s.db.SelectContext(ctx, &links, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("read maintenance services: %w", err)
	}
	for _, l := range links {
		byID[l.ID].Services = append(byID[l.ID].Services, l.Name)
	}
	return ms, nil
}

// PendingNotifications counts the outbox rows waiting to be sent.
func (s *Store) PendingNotifications(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM notification_outbox WHERE state = 'pending'"); err != nil {
		return 0, fmt.Errorf("count pending notifications: %w", err)
	}
	return n, nil
}

// Outbox reads outbox rows in a state, oldest first.
func (s *Store) Outbox(ctx context.Context, state string) ([]OutboxRow, error) {
	var rows []OutboxRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT id, receiver, kind, dedup_key, topic, payload, state, created_at, last_error
		FROM notification_outbox WHERE state = ? ORDER BY id`), state); err != nil {
		return nil, fmt.Errorf("read the outbox: %w", err)
	}
	for i := range rows {
		rows[i].CreatedAt = rows[i].CreatedAt.UTC()
	}
	return rows, nil
}
