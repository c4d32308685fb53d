package evaluator

import (
	"github.com/statusd/statusd/internal/status"
)

// service is a service as the evaluator follows it, or, for a service the
// config does not define (an admin's), an entry with no checks and no
// receivers.
func (e *Evaluator) service(name string) *serviceEntry {
	if s := e.plan.services[name]; s != nil {
		return s
	}
	return &serviceEntry{name: name, onProblem: status.PartialOutage}
}
