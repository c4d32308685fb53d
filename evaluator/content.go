package evaluator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// What operators write (the admin, the API and the command line alike):
// each write is one transaction with its audit entry, and a status an
// operator sets on a service goes through the same path as `statusd
// service set`, so that its history and its notifications follow.

// manualWrite is a service status an operator's write sets or clears,
// applied to the evaluator's view once the transaction commits.
type manualWrite struct {
	s      *serviceEntry
	manual *status.ServiceStatus
	to     status.ServiceStatus
}

// setManual sets or clears a service's status by hand within tx.
func (e *Evaluator) setManual(tx *store.Tx, name string, manual *status.ServiceStatus, reason string, now time.Time) (from status.ServiceStatus, w manualWrite, err error) {
	s := e.service(name)
	row, err := tx.Service(name)
	if err != nil {
		return 0, w, err
	}
	from = status.ServiceStatus(row.Status)
	if manual == nil && reason == "" {
		reason = "manual status cleared"
	}
	if err := tx.SetManualStatus(row, manual, reason, now); err != nil {
		return 0, w, err
	}
	saved := s.manual
	s.manual = manual
	to := s.computed(e.levels)
	s.manual = saved
	if err := e.newServiceWrite(s, to, row.Maintenance, store.CauseManual).write(tx, e.plan, moment{now, now}); err != nil {
		return 0, w, err
	}
	return from, manualWrite{s: s, manual: manual, to: to}, nil
}

// operate runs an operator's write under the evaluator's lock and applies
// the statuses it set once it committed.
func (e *Evaluator) operate(ctx context.Context, fn func(tx *store.Tx, now time.Time) ([]manualWrite, error)) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	var writes []manualWrite
	err := e.update(ctx, func(tx *store.Tx) error {
		var err error
		writes, err = fn(tx, now)
		return err
	})
	if err != nil {
		return err
	}
	for _, w := range writes {
		w.s.manual, w.s.status = w.manual, w.to
	}
	e.changed()
	return nil
}

// SetManual sets an operator's status on a service (manual != nil), which
// wins over its checks until cleared, or clears it (manual == nil): the
// service then takes the status its checks give. The change is recorded
// with cause "manual", told to the service's receivers and audited. It
// returns the service's status before and after.
func (e *Evaluator) SetManual(ctx context.Context, who store.Actor, in content.ManualStatus) (from, to status.ServiceStatus, err error) {
	if err := in.Validate(); err != nil {
		return 0, 0, err
	}
	err = e.operate(ctx, func(tx *store.Tx, now time.Time) ([]manualWrite, error) {
		var w manualWrite
		var err error
		if from, w, err = e.setManual(tx, in.Service, in.Status, in.Reason, now); err != nil {
			return nil, err
		}
		to = w.to
		action := "service.status.set"
		if in.Status == nil {
			action = "service.status.clear"
		}
		type view struct {
			Status string  `json:"status"`
			Manual *string `json:"manual"`
			Reason string  `json:"reason,omitempty"`
		}
		var manual *string
		if in.Status != nil {
			s := in.Status.String()
			manual = &s
		}
		return []manualWrite{w}, tx.Audit(who, action, "service/"+in.Service, view{Status: from.String()}, view{Status: to.String(), Manual: manual, Reason: in.Reason}, now)
	})
	if err != nil {
		return 0, 0, err
	}
	return from, to, nil
}

// Templates are the config's incident templates.
func (e *Evaluator) Templates() []config.IncidentTemplate {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.plan.templates.Templates
}

// template is the config's incident template of a name.
func (e *Evaluator) template(name string) (config.IncidentTemplate, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.plan.templates.Template(name)
	if !ok {
		return t, content.FieldErrors{"template": fmt.Sprintf("no template %q (incidents.templates in the config)", name)}
	}
	return t, nil
}

// incidentTarget names an incident in the audit log.
func incidentTarget(id int64) string { return "incident/" + strconv.FormatInt(id, 10) }

// OpenIncident opens an incident with its first update, sets the statuses
// it gives its services, and returns it as stored.
func (e *Evaluator) OpenIncident(ctx context.Context, who store.Actor, in content.NewIncident) (*store.Incident, error) {
	if in.Template != "" {
		t, err := e.template(in.Template)
		if err != nil {
			return nil, err
		}
		in.Fill(t)
	}
	if err := in.Validate(e.clock.Now()); err != nil {
		return nil, err
	}
	var inc *store.Incident
	err := e.operate(ctx, func(tx *store.Tx, now time.Time) ([]manualWrite, error) {
		names := make([]string, len(in.Services))
		for i, s := range in.Services {
			names[i] = s.Name
		}
		ids, err := tx.ServiceIDs(names)
		if err != nil {
			return nil, err
		}
		id, err := tx.OpenIncident(in.Title, nil, in.State, in.Message, false, now)
		if err != nil {
			return nil, err
		}
		edit := store.IncidentEdit{Impact: &in.Impact}
		if !in.Occurred.IsZero() {
			edit.Occurred = &in.Occurred
		}
		if err := tx.EditIncident(id, edit, now); err != nil {
			return nil, err
		}
		writes, err := e.impose(tx, id, ids, in.Services, in.Title, now)
		if err != nil {
			return nil, err
		}
		if inc, err = tx.Incident(id); err != nil {
			return nil, err
		}
		if err := announceIncident(tx, e.plan, id, now); err != nil {
			return nil, err
		}
		return writes, tx.Audit(who, "incident.create", incidentTarget(id), nil, inc, now)
	})
	if err != nil {
		return nil, err
	}
	return inc, nil
}

// impose links services to an incident and sets the statuses it gives
// them.
func (e *Evaluator) impose(tx *store.Tx, id int64, ids []int64, services []content.ServiceImpact, title string, now time.Time) ([]manualWrite, error) {
	var writes []manualWrite
	for i, s := range services {
		if err := tx.LinkIncidentService(id, ids[i], s.Status); err != nil {
			return nil, err
		}
		if s.Status == nil {
			continue
		}
		_, w, err := e.setManual(tx, s.Name, s.Status, "incident: "+title, now)
		if err != nil {
			return nil, err
		}
		writes = append(writes, w)
	}
	return writes, nil
}

// EditIncident changes an incident's title, impact, occurrence or
// services.
func (e *Evaluator) EditIncident(ctx context.Context, who store.Actor, id int64, c content.IncidentChange) (*store.Incident, error) {
	if err := c.Validate(e.clock.Now()); err != nil {
		return nil, err
	}
	var inc *store.Incident
	err := e.operate(ctx, func(tx *store.Tx, now time.Time) ([]manualWrite, error) {
		before, err := tx.Incident(id)
		if err != nil {
			return nil, err
		}
		if err := tx.EditIncident(id, store.IncidentEdit{Title: c.Title, Impact: c.Impact, Occurred: c.Occurred}, now); err != nil {
			return nil, err
		}
		var writes []manualWrite
		if c.Services != nil {
			names := make([]string, len(*c.Services))
			for i, s := range *c.Services {
				names[i] = s.Name
			}
			ids, err := tx.ServiceIDs(names)
			if err != nil {
				return nil, err
			}
			if err := tx.UnlinkIncidentServices(id, ids); err != nil {
				return nil, err
			}
			title := before.Title
			if c.Title != nil {
				title = *c.Title
			}
			if writes, err = e.impose(tx, id, ids, *c.Services, title, now); err != nil {
				return nil, err
			}
		}
		if inc, err = tx.Incident(id); err != nil {
			return nil, err
		}
		return writes, tx.Audit(who, "incident.edit", incidentTarget(id), before, inc, now)
	})
	if err != nil {
		return nil, err
	}
	return inc, nil
}

// UpdateIncident adds an operator's update to an incident. Statuses it
// names are set; an update that resolves the incident clears the statuses
// the incident set that it does not name, so that its services take their
// checks' status again.
func (e *Evaluator) UpdateIncident(ctx context.Context, who store.Actor, id int64, u content.IncidentUpdate) (*store.Incident, error) {
	if u.Template != "" {
		t, err := e.template(u.Template)
		if err != nil {
			return nil, err
		}
		u.Fill(t)
	}
	if err := u.Validate(); err != nil {
		return nil, err
	}
	var inc *store.Incident
	err := e.operate(ctx, func(tx *store.Tx, now time.Time) ([]manualWrite, error) {
		before, err := tx.Incident(id)
		if err != nil {
			return nil, err
		}
		if err := tx.AddIncidentUpdate(id, u.State, u.Message, now); err != nil {
			return nil, err
		}
		names := make([]string, len(u.Services))
		for i, s := range u.Services {
			names[i] = s.Name
		}
		ids, err := tx.ServiceIDs(names)
		if err != nil {
			return nil, err
		}
		writes, err := e.impose(tx, id, ids, u.Services, before.Title, now)
		if err != nil {
			return nil, err
		}
		if u.State == store.Resolved {
			for name := range before.Statuses {
				if slices.Contains(names, name) {
					continue
				}
				_, w, err := e.setManual(tx, name, nil, "incident resolved: "+before.Title, now)
				if err != nil && !errors.Is(err, store.ErrNoService) {
					return nil, err
				}
				if err == nil {
					writes = append(writes, w)
				}
			}
			if err := tx.ForgetIncidentStatuses(id); err != nil {
				return nil, err
			}
		}
		if inc, err = tx.Incident(id); err != nil {
			return nil, err
		}
		if err := announceIncident(tx, e.plan, id, now); err != nil {
			return nil, err
		}
		return writes, tx.Audit(who, "incident.update", incidentTarget(id), before, inc, now)
	})
	if err != nil {
		return nil, err
	}
	return inc, nil
}

// DeleteIncident removes an incident with its updates. Statuses it set on
// services stay until cleared: deleting a record does not change what is
// true of a service.
func (e *Evaluator) DeleteIncident(ctx context.Context, who store.Actor, id int64) error {
	return e.operate(ctx, func(tx *store.Tx, now time.Time) ([]manualWrite, error) {
		before, err := tx.Incident(id)
		if err != nil {
			return nil, err
		}
		if err := tx.DeleteIncident(id); err != nil {
			return nil, err
		}
		return nil, tx.Audit(who, "incident.delete", incidentTarget(id), before, nil, now)
	})
}

// maintenanceView is a window in the audit log.
type maintenanceView struct {
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Start       time.Time  `json:"start"`
	End         *time.Time `json:"end"`
	Services    []string   `json:"services"`
}

func viewMaintenance(m *store.Maintenance) maintenanceView {
	return maintenanceView{Title: m.Title, Description: m.Description, Start: m.StartsAt, End: m.End(), Services: m.Services}
}

func maintenanceTarget(id int64) string { return "maintenance/" + strconv.FormatInt(id, 10) }

// AddMaintenance schedules a maintenance window; its services are in
// maintenance while it lasts (within the refresh interval).
func (e *Evaluator) AddMaintenance(ctx context.Context, who store.Actor, m content.Maintenance) (*store.Maintenance, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var out *store.Maintenance
	err := e.operate(ctx, func(tx *store.Tx, now time.Time) ([]manualWrite, error) {
		ids, err := tx.ServiceIDs(m.Services)
		if err != nil {
			return nil, err
		}
		id, err := tx.AddMaintenance(m.Title, m.Description, m.Start, m.End, ids, now)
		if err != nil {
			return nil, err
		}
		if out, err = tx.Maintenance(id); err != nil {
			return nil, err
		}
		// A window that starts later is news now; one in progress
		// already is told as started.
		if out.StartsAt.After(now) {
			if err := announceMaintenance(tx, e.plan, out, message.Scheduled, now, now); err != nil {
				return nil, err
			}
		}
		return nil, tx.Audit(who, "maintenance.create", maintenanceTarget(id), nil, viewMaintenance(out), now)
	})
	if err != nil {
		return nil, err
	}
	e.Refresh(ctx)
	return out, nil
}

// EditMaintenance changes a maintenance window.
func (e *Evaluator) EditMaintenance(ctx context.Context, who store.Actor, id int64, c content.MaintenanceChange) (*store.Maintenance, error) {
	var out *store.Maintenance
	err := e.operate(ctx, func(tx *store.Tx, now time.Time) ([]manualWrite, error) {
		before, err := tx.Maintenance(id)
		if err != nil {
			return nil, err
		}
		if err := c.Validate(before.StartsAt, before.End()); err != nil {
			return nil, err
		}
		edit := store.MaintenanceEdit{Title: c.Title, Description: c.Description, Start: c.Start, End: c.End, NoEnd: c.NoEnd}
		if c.Services != nil {
			if edit.Services, err = tx.ServiceIDs(*c.Services); err != nil {
				return nil, err
			}
		}
		if err := tx.EditMaintenance(id, edit, now); err != nil {
			return nil, err
		}
		if out, err = tx.Maintenance(id); err != nil {
			return nil, err
		}
		return nil, tx.Audit(who, "maintenance.edit", maintenanceTarget(id), viewMaintenance(before), viewMaintenance(out), now)
	})
	if err != nil {
		return nil, err
	}
	e.Refresh(ctx)
	return out, nil
}

// CancelMaintenance removes a maintenance window.
func (e *Evaluator) CancelMaintenance(ctx context.Context, who store.Actor, id int64) error {
	err := e.operate(ctx, func(tx *store.Tx, now time.Time) ([]manualWrite, error) {
		before, err := tx.Maintenance(id)
		if err != nil {
			return nil, err
		}
		if err := tx.CancelMaintenance(id); err != nil {
			return nil, err
		}
		return nil, tx.Audit(who, "maintenance.cancel", maintenanceTarget(id), viewMaintenance(before), nil, now)
	})
	if err != nil {
		return err
	}
	e.Refresh(ctx)
	return nil
}

// audited makes one write to a service or a group with its audit entry:
// read is how the audit log sees the target, before the write (unless the
// action creates it) and after it (unless the action deletes it).
func (e *Evaluator) audited(ctx context.Context, who store.Actor, action, target string, read func(*store.Tx) (any, error), write func(*store.Tx, time.Time) error) error {
	return e.operate(ctx, func(tx *store.Tx, now time.Time) ([]manualWrite, error) {
		var before, after any
		var err error
		if !strings.HasSuffix(action, ".create") {
			if before, err = read(tx); err != nil {
				return nil, err
			}
		}
		if err := write(tx, now); err != nil {
			return nil, err
		}
		if !strings.HasSuffix(action, ".delete") {
			if after, err = read(tx); err != nil {
				return nil, err
			}
		}
		return nil, tx.Audit(who, action, target, before, after, now)
	})
}

// readService is a service as the audit log shows it.
func readService(name string) func(*store.Tx) (any, error) {
	return func(tx *store.Tx) (any, error) {
		r, err := tx.ServiceRowOf(name)
		if err != nil {
			return nil, err
		}
		return map[string]any{"name": r.Name, "group": r.Group.String, "description": r.Description, "link": r.Link, "priority": r.Priority}, nil
	}
}

// readGroup is a group as the audit log shows it.
func readGroup(name string) func(*store.Tx) (any, error) {
	return func(tx *store.Tx) (any, error) { return tx.GroupRowOf(name) }
}

// AddService makes a service: on the page at once, operational until an
// incident or an operator says otherwise.
func (e *Evaluator) AddService(ctx context.Context, who store.Actor, s content.Service) error {
	if err := s.Validate(); err != nil {
		return err
	}
	f := store.ServiceFields{Description: &s.Description, Link: &s.Link, Priority: &s.Priority}
	if s.Group != "" {
		f.Group = &s.Group
	}
	return e.audited(ctx, who, "service.create", "service/"+s.Name, readService(s.Name),
		func(tx *store.Tx, now time.Time) error { return tx.AddService(s.Name, f, now) })
}

// EditService changes a service an operator made.
func (e *Evaluator) EditService(ctx context.Context, who store.Actor, name string, c content.ServiceChange) error {
	if err := c.Validate(); err != nil {
		return err
	}
	f := store.ServiceFields{Group: c.Group, Description: c.Description, Link: c.Link, Priority: c.Priority}
	return e.audited(ctx, who, "service.edit", "service/"+name, readService(name),
		func(tx *store.Tx, now time.Time) error { return tx.EditService(name, f, now) })
}

// DeleteService removes a service an operator made, with its history.
func (e *Evaluator) DeleteService(ctx context.Context, who store.Actor, name string) error {
	return e.audited(ctx, who, "service.delete", "service/"+name, readService(name),
		func(tx *store.Tx, _ time.Time) error { return tx.DeleteService(name) })
}

// AddGroup makes a group.
func (e *Evaluator) AddGroup(ctx context.Context, who store.Actor, g content.Group) error {
	if err := g.Validate(); err != nil {
		return err
	}
	return e.audited(ctx, who, "group.create", "group/"+g.Name, readGroup(g.Name), func(tx *store.Tx, now time.Time) error {
		return tx.AddGroup(g.Name, store.GroupFields{Priority: &g.Priority, Collapse: &g.Collapse}, now)
	})
}

// EditGroup changes a group an operator made.
func (e *Evaluator) EditGroup(ctx context.Context, who store.Actor, name string, c content.GroupChange) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return e.audited(ctx, who, "group.edit", "group/"+name, readGroup(name), func(tx *store.Tx, now time.Time) error {
		return tx.EditGroup(name, store.GroupFields{Priority: c.Priority, Collapse: c.Collapse}, now)
	})
}

// DeleteGroup removes a group an operator made; its services stay,
// ungrouped.
func (e *Evaluator) DeleteGroup(ctx context.Context, who store.Actor, name string) error {
	return e.audited(ctx, who, "group.delete", "group/"+name, readGroup(name),
		func(tx *store.Tx, _ time.Time) error { return tx.DeleteGroup(name) })
}

// downtimeView is a downtime period in the audit log.
type downtimeView struct {
	Start    *time.Time `json:"start"`
	End      *time.Time `json:"end"`
	Reason   string     `json:"reason"`
	Services []string   `json:"services"`
}

// StartDowntime adds a downtime period (now, or scheduled): while it is
// active the down page is served, its services (all when it names none)
// are in maintenance and their notifications held.
func (e *Evaluator) StartDowntime(ctx context.Context, who store.Actor, d content.Downtime) (int64, error) {
	if err := d.Validate(e.clock.Now()); err != nil {
		return 0, err
	}
	var id int64
	err := e.operate(ctx, func(tx *store.Tx, now time.Time) ([]manualWrite, error) {
		ids, err := tx.ServiceIDs(d.Services)
		if err != nil {
			return nil, err
		}
		if id, err = tx.AddDowntime(*d.Start, d.End, d.Reason, ids, now); err != nil {
			return nil, err
		}
		return nil, tx.Audit(who, "downtime.start", "downtime/"+strconv.FormatInt(id, 10), nil,
			downtimeView{Start: d.Start, End: d.End, Reason: d.Reason, Services: d.Services}, now)
	})
	if err != nil {
		return 0, err
	}
	e.Refresh(ctx)
	return id, nil
}

// EndDowntime ends the periods in progress now.
func (e *Evaluator) EndDowntime(ctx context.Context, who store.Actor) ([]int64, error) {
	var ids []int64
	err := e.operate(ctx, func(tx *store.Tx, now time.Time) ([]manualWrite, error) {
		var err error
		if ids, err = tx.EndDowntime(now); err != nil {
			return nil, err
		}
		return nil, tx.Audit(who, "downtime.end", "downtime", map[string]any{"periods": ids}, map[string]any{"ended": now}, now)
	})
	if err != nil {
		return nil, err
	}
	e.Refresh(ctx)
	return ids, nil
}

// CancelDowntime removes a downtime period.
func (e *Evaluator) CancelDowntime(ctx context.Context, who store.Actor, id int64) error {
	err := e.operate(ctx, func(tx *store.Tx, now time.Time) ([]manualWrite, error) {
		if err := tx.CancelDowntime(id); err != nil {
			return nil, err
		}
		return nil, tx.Audit(who, "downtime.cancel", "downtime/"+strconv.FormatInt(id, 10), map[string]any{"id": id}, nil, now)
	})
	if err != nil {
		return err
	}
	e.Refresh(ctx)
	return nil
}
