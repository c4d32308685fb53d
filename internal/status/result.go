package status

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CheckID addresses a check as resource/check, the form used everywhere:
// config, API, metric labels and the CLI.
type CheckID struct {
	Resource string
	Check    string
}

// String returns "resource/check".
func (id CheckID) String() string { return id.Resource + "/" + id.Check }

// ParseCheckID parses "resource/check".
func ParseCheckID(s string) (CheckID, error) {
	r, c, ok := strings.Cut(s, "/")
	if !ok || r == "" || c == "" || strings.Contains(c, "/") {
		return CheckID{}, fmt.Errorf("check %q: want resource/check", s)
	}
	return CheckID{Resource: r, Check: c}, nil
}

// Result is the outcome of one run of a check.
type Result struct {
	// Level is fine, warning or problem.
	Level Level
	// Success tells whether the probe ran and met its own conditions
	// (expected status code, body, exit code…). Thresholds on Value only
	// move Level.
	Success bool
	// Value is the measured value in base units (seconds, bytes, rows…),
	// nil when the kind measures nothing.
	Value *float64
	// Message is a short human report.
	Message string
	// Details is structured, JSON-serialisable data: a map for most
	// kinds (stats payloads), a struct of its own where a kind reports
	// the same fields every run (http). Results read back from JSON or
	// the store hold a map.
	Details any
	// Duration is how long the probe took.
	Duration time.Duration
	// CheckedAt is when the probe started.
	CheckedAt time.Time
	// Locations are the latest results of each location, for a check run
	// in several (then the rest of the result is what they decide).
	Locations map[string]Result
}

// NoDetails tells whether details hold nothing: none, or an empty map.
func NoDetails(d any) bool {
	switch d := d.(type) {
	case nil:
		return true
	case map[string]any:
		return len(d) == 0
	}
	return false
}

// Float returns a pointer to v, for Result.Value.
func Float(v float64) *float64 { return &v }

type resultJSON struct {
	Level           Level             `json:"level"`
	Success         bool              `json:"success"`
	Value           *float64          `json:"value"`
	Message         string            `json:"message"`
	Details         any               `json:"details"`
	DurationSeconds float64           `json:"duration_seconds"`
	CheckedAt       *time.Time        `json:"checked_at"`
	Locations       map[string]Result `json:"locations,omitempty"`
}

// MarshalJSON renders the result in the API's shape.
func (r Result) MarshalJSON() ([]byte, error) { return json.Marshal(r.api()) }

// AppendJSON appends the result in the API's shape to b.
func (r Result) AppendJSON(b []byte) ([]byte, error) {
	j, err := json.Marshal(r.api())
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}

// api is the result in the API's shape.
func (r Result) api() resultJSON {
	j := resultJSON{
		Level:           r.Level,
		Success:         r.Success,
		Value:           r.Value,
		Message:         r.Message,
		Details:         r.Details,
		DurationSeconds: r.Duration.Seconds(),
		Locations:       r.Locations,
	}
	if NoDetails(j.Details) {
		j.Details = map[string]any{}
	}
	if !r.CheckedAt.IsZero() {
		t := r.CheckedAt.UTC()
		j.CheckedAt = &t
	}
	return j
}

// UnmarshalJSON reads the API's shape back.
func (r *Result) UnmarshalJSON(b []byte) error {
	var j resultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Result{
		Level:     j.Level,
		Success:   j.Success,
		Value:     j.Value,
		Message:   j.Message,
		Details:   j.Details,
		Duration:  time.Duration(j.DurationSeconds * float64(time.Second)),
		Locations: j.Locations,
	}
	if j.CheckedAt != nil {
		r.CheckedAt = *j.CheckedAt
	}
	return nil
}

// Errors of looking up and reporting to checks, shared by the exporter,
// which returns them, and the API, which answers them.
var (
	// ErrNotFound: no check or resource of that name.
	ErrNotFound = errors.New("not found")
	// ErrNotHeartbeat: the check receives no reports.
	ErrNotHeartbeat = errors.New("not a heartbeat check")
	// ErrUnauthorized: a report without the check's token.
	ErrUnauthorized = errors.New("wrong or missing token")
)
