package evaluator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/statusd/statusd/internal/alert"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// Alerts applies Alertmanager's alerts, service by service, each in one
// transaction: a firing alert holds its service at its status (or worse,
// from the checks) and opens an incident, or updates the open one, the
// first time it is seen; a resolved one lets the service go back, and the
// incident is resolved when the service's last alert is. Alertmanager
// repeats alerts: a repeat changes nothing.
func (e *Evaluator) Alerts(ctx context.Context, alerts []alert.Alert) ([]alert.Outcome, error) {
	byService := map[string][]alert.Alert{}
	var order []string
	for _, a := range alerts {
		if _, ok := byService[a.Service]; !ok {
			order = append(order, a.Service)
		}
		byService[a.Service] = append(byService[a.Service], a)
	}
	var out []alert.Outcome
	for _, name := range order {
		o, err := e.serviceAlerts(ctx, name, byService[name])
		if errors.Is(err, store.ErrNoService) {
			out = append(out, alert.Outcome{Service: name, Unknown: true})
			continue
		}
		if err != nil {
			return out, fmt.Errorf("service %s: %w", name, err)
		}
		out = append(out, o)
	}
	return out, nil
}

func (e *Evaluator) serviceAlerts(ctx context.Context, name string, alerts []alert.Alert) (alert.Outcome, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	s := e.service(name)
	o := alert.Outcome{Service: name}
	var worst status.ServiceStatus
	err := e.update(ctx, func(tx *store.Tx) error {
		row, err := tx.Service(name)
		if err != nil {
			return err
		}
		o.From = status.ServiceStatus(row.Status)
		var fired, resolved []alert.Alert
		for _, a := range alerts {
			if a.Firing {
				isNew, err := tx.SetServiceAlert(store.ServiceAlert{ServiceID: row.ID, Fingerprint: a.Fingerprint, Name: a.Name,
					Status: int(a.Status), Summary: a.Summary, StartsAt: a.StartsAt}, now)
				if err != nil {
					return err
				}
				if isNew {
					fired = append(fired, a)
				}
				continue
			}
			found, err := tx.ClearServiceAlert(row.ID, a.Fingerprint)
			if err != nil {
				return err
			}
			if found {
				resolved = append(resolved, a)
			}
		}
		if worst, err = tx.AlertStatus(row.ID); err != nil {
			return err
		}
		saved := s.alert
		s.alert = worst
		o.To = s.computed(e.levels)
		s.alert = saved
		if err := e.newServiceWrite(s, o.To, row.Maintenance, store.CauseAlert).write(tx, e.plan, moment{now, now}); err != nil {
			return err
		}
		return alertIncident(tx, e.plan, row, fired, resolved, worst, now)
	})
	if err != nil {
		return o, err
	}
	s.alert, s.status = worst, o.To
	e.changed()
	return o, nil
}

// alertIncident tells visitors about alerts: the first firing alert of a
// service opens an incident (or updates statusd's open one), later ones
// update it, and the last one resolved resolves the incident statusd
// opened. In an operator's incident they are notes (at most one per
// noteEvery), which keep its state.
func alertIncident(tx *store.Tx, p *plan, sv store.ServiceRow, fired, resolved []alert.Alert, worst status.ServiceStatus, now time.Time) error {
	for _, a := range fired {
		text := fmt.Sprintf("%s (alert %s).", a.Summary, a.Name)
		open, err := tx.OpenIncidentOf(sv.ID, false)
		if err != nil {
			return err
		}
		switch {
		case open == nil:
			id, err := tx.OpenIncident(fmt.Sprintf("%s: %s", sv.Name, a.Summary), []int64{sv.ID}, store.Investigating, text, true, now)
			if err != nil {
				return err
			}
			if err := announceIncident(tx, p, id, now); err != nil {
				return err
			}
			continue
		case !open.Automatic:
			if err := noteOnce(tx, open.ID, text, p.noteEvery, now); err != nil {
				return err
			}
			continue
		}
		state, err := tx.IncidentState(open.ID)
		if err != nil {
			return err
		}
		if err := tx.AddIncidentUpdate(open.ID, state, text, now); err != nil {
			return err
		}
		if err := announceIncident(tx, p, open.ID, now); err != nil {
			return err
		}
	}
	if len(resolved) == 0 || worst != status.Operational {
		return nil
	}
	names := make([]string, len(resolved))
	for i, a := range resolved {
		names[i] = a.Name
	}
	slices.Sort(names)
	text := fmt.Sprintf("The alerts about %s resolved (%s).", sv.Name, strings.Join(slices.Compact(names), ", "))
	open, err := tx.OpenIncidentOf(sv.ID, true)
	if err == nil && open == nil {
		open, err = tx.OpenIncidentOf(sv.ID, false)
	}
	switch {
	case err != nil || open == nil:
		return err
	case !open.Automatic:
		return noteOnce(tx, open.ID, text, p.noteEvery, now)
	}
	if err := tx.AddIncidentUpdate(open.ID, store.Resolved, text, now); err != nil {
		return err
	}
	return announceIncident(tx, p, open.ID, now)
}
