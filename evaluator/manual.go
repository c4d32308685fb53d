package evaluator

import (
	"context"
	"fmt"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// SetManual sets an operator's status on a service (manual != nil), which
// wins over its checks until cleared, or clears it (manual == nil): the
// service then takes the status its checks give. The change is recorded
// with cause "manual" and told to the service's receivers. It returns the
// service's status before and after.
func (e *Evaluator) SetManual(ctx context.Context, name string, manual *status.ServiceStatus, reason string) (from, to status.ServiceStatus, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	s := e.service(name)
	err = e.update(ctx, func(tx *store.Tx) error {
		row, err := tx.Service(name)
		if err != nil {
			return err
		}
		from = status.ServiceStatus(row.Status)
		if manual == nil && reason == "" {
			reason = "manual status cleared"
		}
		if err := tx.SetManualStatus(row, manual, reason, now); err != nil {
			return err
		}
		saved := s.manual
		s.manual = manual
		to = s.computed(e.levels)
		s.manual = saved
		return e.newServiceWrite(s, to, row.Maintenance, store.CauseManual).write(tx, e.plan, moment{now, now})
	})
	if err != nil {
		return 0, 0, fmt.Errorf("service %s: %w", name, err)
	}
	s.manual, s.status = manual, to
	e.changed()
	return from, to, nil
}

// service is a service as the evaluator follows it, or, for a service the
// config does not define (an admin's), an entry with no checks and no
// receivers.
func (e *Evaluator) service(name string) *serviceEntry {
	if s := e.plan.services[name]; s != nil {
		return s
	}
	return &serviceEntry{name: name, onProblem: status.PartialOutage}
}
