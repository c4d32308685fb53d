package store

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
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
	return t.deleteByID("incidents", "incident", id, ErrNoIncident)
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
		if slices.Contains(keep, s) {
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

// Services and groups made by operators (source admin); the config's are
// the config's to change.

// ErrConfigDefined is a service or group the config defines: it changes
// with the config, not from the admin or the API.
var ErrConfigDefined = errors.New("defined in the config")

// ErrNameTaken is a service or group name already in use.
var ErrNameTaken = errors.New("the name is taken")

// ErrNoGroup is a group name the store does not know.
var ErrNoGroup = errors.New("no such group")

// ServiceFields are what an operator sets on a service they made; nil
// fields stay (Group "" removes it from its group).
type ServiceFields struct {
	Group       *string
	Description *string
	Link        *string
	Priority    *int
}

// groupID is a group's id by name; NULL for "".
func (t *Tx) groupID(name string) (sql.NullInt64, error) {
	if name == "" {
		return sql.NullInt64{}, nil
	}
	var id int64
	err := t.get(&id, "SELECT id FROM service_groups WHERE name = ?", name)
	if errors.Is(err, sql.ErrNoRows) {
		return sql.NullInt64{}, fmt.Errorf("group %q: %w", name, ErrNoGroup)
	}
	if err != nil {
		return sql.NullInt64{}, fmt.Errorf("read group %q: %w", name, err)
	}
	return sql.NullInt64{Int64: id, Valid: true}, nil
}

// AddService makes a service (source admin): operational, with no checks,
// its status set by hand or by incidents.
func (t *Tx) AddService(name string, f ServiceFields, now time.Time) error {
	var group sql.NullInt64
	if f.Group != nil {
		var err error
		if group, err = t.groupID(*f.Group); err != nil {
			return err
		}
	}
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	prio := 0
	if f.Priority != nil {
		prio = *f.Priority
	}
	res, err := t.exec(`INSERT INTO services (name, description, href, group_id, priority, source, status, status_changed_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'admin', 0, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		name, deref(f.Description), deref(f.Link), group, prio, now.UTC(), now.UTC(), now.UTC())
	if err != nil {
		return fmt.Errorf("add service %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("service %q: %w", name, ErrNameTaken)
	}
	return t.BumpBoard()
}

// adminRow checks that a service or group exists and is an operator's.
func (t *Tx) adminRow(table, name string, missing error) error {
	var source string
	err := t.get(&source, "SELECT source FROM "+table+" WHERE name = ?"+t.forUpdate(), name)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%q: %w", name, missing)
	case err != nil:
		return fmt.Errorf("read %q: %w", name, err)
	case source == SourceConfig:
		return fmt.Errorf("%q is %w: change it there", name, ErrConfigDefined)
	}
	return nil
}

// EditService changes a service an operator made.
func (t *Tx) EditService(name string, f ServiceFields, now time.Time) error {
	if err := t.adminRow("services", name, ErrNoService); err != nil {
		return err
	}
	set := "updated_at = ?"
	args := []any{now.UTC()}
	if f.Group != nil {
		group, err := t.groupID(*f.Group)
		if err != nil {
			return err
		}
		set += ", group_id = ?"
		args = append(args, group)
	}
	if f.Description != nil {
		set += ", description = ?"
		args = append(args, *f.Description)
	}
	if f.Link != nil {
		set += ", href = ?"
		args = append(args, *f.Link)
	}
	if f.Priority != nil {
		set += ", priority = ?"
		args = append(args, *f.Priority)
	}
	if _, err := t.exec("UPDATE services SET "+set+" WHERE name = ?", append(args, name)...); err != nil {
		return fmt.Errorf("edit service %q: %w", name, err)
	}
	return t.BumpBoard()
}

// DeleteService removes a service an operator made, with its history.
func (t *Tx) DeleteService(name string) error {
	if err := t.adminRow("services", name, ErrNoService); err != nil {
		return err
	}
	if _, err := t.exec("DELETE FROM services WHERE name = ?", name); err != nil {
		return fmt.Errorf("delete service %q: %w", name, err)
	}
	return t.BumpBoard()
}

// GroupFields are what an operator sets on a group they made.
type GroupFields struct {
	Priority *int
	Collapse *string
}

// AddGroup makes a group (source admin).
func (t *Tx) AddGroup(name string, f GroupFields, now time.Time) error {
	prio, collapse := 0, "never"
	if f.Priority != nil {
		prio = *f.Priority
	}
	if f.Collapse != nil {
		collapse = *f.Collapse
	}
	res, err := t.exec(`INSERT INTO service_groups (name, priority, collapse, source, created_at, updated_at) VALUES (?, ?, ?, 'admin', ?, ?)
		ON CONFLICT (name) DO NOTHING`, name, prio, collapse, now.UTC(), now.UTC())
	if err != nil {
		return fmt.Errorf("add group %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("group %q: %w", name, ErrNameTaken)
	}
	return t.BumpBoard()
}

// EditGroup changes a group an operator made.
func (t *Tx) EditGroup(name string, f GroupFields, now time.Time) error {
	if err := t.adminRow("service_groups", name, ErrNoGroup); err != nil {
		return err
	}
	set := "updated_at = ?"
	args := []any{now.UTC()}
	if f.Priority != nil {
		set += ", priority = ?"
		args = append(args, *f.Priority)
	}
	if f.Collapse != nil {
		set += ", collapse = ?"
		args = append(args, *f.Collapse)
	}
	if _, err := t.exec("UPDATE service_groups SET "+set+" WHERE name = ?", append(args, name)...); err != nil {
		return fmt.Errorf("edit group %q: %w", name, err)
	}
	return t.BumpBoard()
}

// DeleteGroup removes a group an operator made; its services stay,
// ungrouped.
func (t *Tx) DeleteGroup(name string) error {
	if err := t.adminRow("service_groups", name, ErrNoGroup); err != nil {
		return err
	}
	if _, err := t.exec("DELETE FROM service_groups WHERE name = ?", name); err != nil {
		return fmt.Errorf("delete group %q: %w", name, err)
	}
	return t.BumpBoard()
}

// ServiceRowOf reads a service by name without locking it, for the audit
// log.
func (t *Tx) ServiceRowOf(name string) (*ServiceRow, error) {
	var rows []ServiceRow
	if err := t.selectRows(&rows, "SELECT * FROM ("+selectServices+") x WHERE name = ?", name); err != nil {
		return nil, fmt.Errorf("read service %q: %w", name, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("service %q: %w", name, ErrNoService)
	}
	return &rows[0], nil
}

// GroupRowOf reads a group by name, for the audit log.
func (t *Tx) GroupRowOf(name string) (*GroupRow, error) {
	var rows []GroupRow
	if err := t.selectRows(&rows, "SELECT id, name, priority, collapse, source FROM service_groups WHERE name = ?", name); err != nil {
		return nil, fmt.Errorf("read group %q: %w", name, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("group %q: %w", name, ErrNoGroup)
	}
	return &rows[0], nil
}
