package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/statusd/statusd/internal/status"
)

// What operators change after the fact: incidents edited, deleted and
// annotated, maintenance windows edited. Each is audited by its caller in
// the same transaction (Tx.Audit).

// IncidentEdit changes an incident; nil fields stay.
type IncidentEdit struct {
	Title    *string
	Impact   *string
	Occurred *time.Time
}

// EditIncident changes an incident's title, impact or occurrence.
func (t *Tx) EditIncident(id int64, e IncidentEdit, now time.Time) error {
	set := "updated_at = ?"
	args := []any{now.UTC()}
	if e.Title != nil {
		set += ", name = ?"
		args = append(args, *e.Title)
	}
	if e.Impact != nil {
		set += ", impact = ?"
		args = append(args, *e.Impact)
	}
	if e.Occurred != nil {
		set += ", occurred_at = ?"
		args = append(args, e.Occurred.UTC())
	}
	res, err := t.exec("UPDATE incidents SET "+set+" WHERE id = ?", append(args, id)...)
	if err != nil {
		return fmt.Errorf("edit incident %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("incident %d: %w", id, ErrNoIncident)
	}
	return t.BumpBoard()
}

// DeleteIncident removes an incident with its updates.
func (t *Tx) DeleteIncident(id int64) error {
	res, err := t.exec("DELETE FROM incidents WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("delete incident %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("incident %d: %w", id, ErrNoIncident)
	}
	return t.BumpBoard()
}

// LinkIncidentService names a service in an incident, with the status the
// incident sets on it by hand (nil keeps the one it set before, if any).
func (t *Tx) LinkIncidentService(id, serviceID int64, st *status.ServiceStatus) error {
	var v sql.NullInt16
	if st != nil {
		v = sql.NullInt16{Int16: int16(*st), Valid: true}
	}
	_, err := t.exec(`INSERT INTO incident_services (incident_id, service_id, status) VALUES (?, ?, ?)
		ON CONFLICT (incident_id, service_id) DO UPDATE SET status = COALESCE(excluded.status, incident_services.status)`, id, serviceID, v)
	if err != nil {
		return fmt.Errorf("incident %d: link service: %w", id, err)
	}
	return nil
}

// UnlinkIncidentServices removes services from an incident, except those
// in keep.
func (t *Tx) UnlinkIncidentServices(id int64, keep []int64) error {
	var linked []int64
	if err := t.selectRows(&linked, "SELECT service_id FROM incident_services WHERE incident_id = ?", id); err != nil {
		return fmt.Errorf("incident %d: read services: %w", id, err)
	}
	for _, s := range linked {
		if containsID(keep, s) {
			continue
		}
		if _, err := t.exec("DELETE FROM incident_services WHERE incident_id = ? AND service_id = ?", id, s); err != nil {
			return fmt.Errorf("incident %d: unlink service: %w", id, err)
		}
	}
	return nil
}

// ForgetIncidentStatuses clears the statuses an incident set, once they
// are cleared on the services.
func (t *Tx) ForgetIncidentStatuses(id int64) error {
	if _, err := t.exec("UPDATE incident_services SET status = NULL WHERE incident_id = ?", id); err != nil {
		return fmt.Errorf("incident %d: %w", id, err)
	}
	return nil
}

func containsID(ids []int64, id int64) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// AddIncidentNote adds statusd's own line to an incident: it keeps the
// incident's state and does not reopen or close it.
func (t *Tx) AddIncidentNote(id int64, msg string, now time.Time) error {
	state, err := t.IncidentState(id)
	if err != nil {
		return err
	}
	now = now.UTC()
	res, err := t.exec("UPDATE incidents SET updated_at = ? WHERE id = ?", now, id)
	if err != nil {
		return fmt.Errorf("note on incident %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("incident %d: %w", id, ErrNoIncident)
	}
	if _, err := t.exec("INSERT INTO incident_updates (incident_id, state, description, note, created_at, updated_at) VALUES (?, ?, ?, TRUE, ?, ?)",
		id, state, msg, now, now); err != nil {
		return fmt.Errorf("note on incident %d: %w", id, err)
	}
	return t.BumpBoard()
}

// LastNote is when statusd last added a note to an incident (zero: never).
func (t *Tx) LastNote(id int64) (time.Time, error) {
	var at []time.Time
	if err := t.selectRows(&at, "SELECT created_at FROM incident_updates WHERE incident_id = ? AND note ORDER BY created_at DESC LIMIT 1", id); err != nil {
		return time.Time{}, fmt.Errorf("read the notes of incident %d: %w", id, err)
	}
	if len(at) == 0 {
		return time.Time{}, nil
	}
	return at[0], nil
}

// MaintenanceEdit changes a maintenance window; nil fields stay. Ends
// set with NoEnd true removes the end.
type MaintenanceEdit struct {
	Title       *string
	Description *string
	Start       *time.Time
	End         *time.Time
	NoEnd       bool
	// Services, when not nil, replace the window's services.
	Services []int64
}

// EditMaintenance changes a maintenance window.
func (t *Tx) EditMaintenance(id int64, e MaintenanceEdit, now time.Time) error {
	set := "updated_at = ?"
	args := []any{now.UTC()}
	if e.Title != nil {
		set += ", name = ?"
		args = append(args, *e.Title)
	}
	if e.Description != nil {
		set += ", description = ?"
		args = append(args, *e.Description)
	}
	if e.Start != nil {
		set += ", starts_at = ?"
		args = append(args, e.Start.UTC())
	}
	switch {
	case e.NoEnd:
		set += ", ends_at = NULL"
	case e.End != nil:
		set += ", ends_at = ?"
		args = append(args, e.End.UTC())
	}
	res, err := t.exec("UPDATE maintenances SET "+set+" WHERE id = ?", append(args, id)...)
	if err != nil {
		return fmt.Errorf("edit maintenance %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("maintenance %d: %w", id, ErrNoMaintenance)
	}
	if e.Services != nil {
		if _, err := t.exec("DELETE FROM maintenance_services WHERE maintenance_id = ?", id); err != nil {
			return fmt.Errorf("edit maintenance %d: %w", id, err)
		}
		for _, s := range e.Services {
			if _, err := t.exec("INSERT INTO maintenance_services (maintenance_id, service_id) VALUES (?, ?) ON CONFLICT DO NOTHING", id, s); err != nil {
				return fmt.Errorf("edit maintenance %d: %w", id, err)
			}
		}
	}
	return t.BumpBoard()
}

// Maintenance reads one window as this transaction sees it.
func (t *Tx) Maintenance(id int64) (*Maintenance, error) {
	var ms []Maintenance
	if err := t.selectRows(&ms, "SELECT id, name, description, starts_at, ends_at FROM maintenances WHERE id = ?", id); err != nil {
		return nil, fmt.Errorf("read maintenance %d: %w", id, err)
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("maintenance %d: %w", id, ErrNoMaintenance)
	}
	m := &ms[0]
	m.StartsAt = m.StartsAt.UTC()
	m.Services = []string{}
	if err := t.selectRows(&m.Services, `SELECT v.name FROM maintenance_services m JOIN services v ON v.id = m.service_id
		WHERE m.maintenance_id = ? ORDER BY v.name`, id); err != nil {
		return nil, fmt.Errorf("read maintenance %d: %w", id, err)
	}
	return m, nil
}

// IsNotFound tells whether err is about something the store does not know
// (an incident, a maintenance window, a service).
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNoIncident) || errors.Is(err, ErrNoMaintenance) || errors.Is(err, ErrNoService)
}
