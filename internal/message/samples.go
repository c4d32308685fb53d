package message

import (
	"time"

	"github.com/statusd/statusd/internal/status"
)

// SampleTime is when the sample messages happen.
var SampleTime = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// Sample is a message every integration's golden files cover.
type Sample struct {
	Name string
	Msg  *Message
}

// Samples are one message of each shape a receiver gets, as the notifier
// composes them, for rendering templates before any is sent (config
// validation, golden files): a problem, a recovery, a grouped message (a check still
// at problem and one that failed and recovered before it was told, as in
// the notifier's TestCompose), a digest, a service's status change and one told when a maintenance
// window ended.
// Texts carry markup to escape.
func Samples() []Sample {
	site := Site{Name: "ACME", URL: "https://status.acme.example"}
	v := 2.5
	down := SampleTime.Add(-6 * time.Second)
	msg := func(kind Kind) *Message {
		return &Message{Version: Version, Kind: kind, Receiver: "ops", Site: site, Time: SampleTime}
	}
	problem := msg(Instant)
	problem.Checks = []Check{{ID: "health/api", Description: "The public API", Level: status.Problem, Previous: status.Fine,
		Since: SampleTime, Message: "HTTP 503 <down> & out", Value: &v, Link: "https://status.acme.example/checks#health/api"}}
	recovery := msg(Resolved)
	recovery.Checks = []Check{{ID: "health/api", Level: status.Fine, Previous: status.Problem, Since: SampleTime, DownSince: &down,
		Message: "HTTP 200 in 12ms", Link: "https://status.acme.example/checks#health/api"}}
	grouped := msg(Instant)
	grouped.Checks = []Check{
		{ID: "health/db", Level: status.Problem, Previous: status.Fine, Since: down, Message: "connection refused"},
		{ID: "health/api", Level: status.Fine, Previous: status.Problem, Since: SampleTime, DownSince: &down, Collapsed: true, Message: "HTTP 200 in 12ms"},
	}
	digest := msg(Digest)
	digest.Checks = []Check{
		{ID: "health/db", Level: status.Problem, Since: down, Message: "connection refused"},
		{ID: "health/disk", Level: status.Warning, Since: down, Message: "81% used", Value: &v},
	}
	digest.Incidents = []Incident{{ID: 3, Title: "API: partial outage", State: "investigating", Occurred: down,
		Services: []string{"API"}, Link: "https://status.acme.example/incidents/3"}}
	change := msg(StatusChange)
	change.Service = &ServiceChange{Name: "API", Group: "Website", From: status.Operational, To: status.MajorOutage,
		At: down, Cause: "checks", Link: "https://api.acme.example/"}
	ended := msg(StatusChange)
	ended.Service = &ServiceChange{Name: "API", Group: "Website", From: status.Operational, To: status.PartialOutage,
		At: SampleTime, Cause: "maintenance", Meanwhile: []Step{
			{From: status.Operational, To: status.MajorOutage, At: down.Add(-time.Hour)},
			{From: status.MajorOutage, To: status.PartialOutage, At: down}}}
	return []Sample{{"problem", problem}, {"recovery", recovery}, {"grouped", grouped}, {"digest", digest}, {"status_change", change},
		{"after_maintenance", ended}}
}
