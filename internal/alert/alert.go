// Package alert is what Alertmanager's webhook tells statusd, as the web
// intake decodes it and the evaluator applies it: an alert holds a
// service at a status while it fires.
package alert

import (
	"time"

	"github.com/statusd/statusd/internal/status"
)

// Alert is one alert from Alertmanager about a service.
type Alert struct {
	Service     string
	Fingerprint string
	Name        string
	// Summary is what visitors read in the incident (the alert's summary
	// annotation, or its name).
	Summary string
	// Status is what the alert holds the service at while it fires.
	Status   status.ServiceStatus
	Firing   bool
	StartsAt time.Time
}

// Outcome says what applying one service's alerts did.
type Outcome struct {
	Service  string
	From, To status.ServiceStatus
	// Unknown is set when no service has that name; nothing was changed.
	Unknown bool
}
