package probe

import (
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

type heartbeats map[status.CheckID]store.Heartbeat

func (h heartbeats) LastHeartbeat(id status.CheckID) (store.Heartbeat, bool) {
	hb, ok := h[id]
	return hb, ok
}

func TestHeartbeat(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	id := status.CheckID{Resource: "test", Check: "backup"}
	cases := []struct {
		name    string
		hb      *store.Heartbeat
		level   status.Level
		success bool
		message string
	}{
		{"never reported", nil, status.Problem, false, "never reported (problem after 2d2h)"},
		{"fresh", &store.Heartbeat{ReceivedAt: now.Add(-time.Hour)}, status.Fine, true, "last report 1h ago"},
		{"just before warning", &store.Heartbeat{ReceivedAt: now.Add(-26*time.Hour + time.Second)}, status.Fine, true, ""},
		{"warning is inclusive", &store.Heartbeat{ReceivedAt: now.Add(-26 * time.Hour)}, status.Warning, true, "late: last report 26h ago (warning after 26h)"},
		{"problem is inclusive", &store.Heartbeat{ReceivedAt: now.Add(-50 * time.Hour)}, status.Problem, false, "late: last report 2d2h ago (problem after 2d2h)"},
		{"failed run", &store.Heartbeat{ReceivedAt: now.Add(-time.Minute), Failed: true, Source: "10.0.0.7"}, status.Problem, false, "last run failed 1m0s ago"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := heartbeats{}
			if c.hb != nil {
				src[id] = *c.hb
			}
			r := run(t, `{name: backup, kind: heartbeat, warning_after: 26h, problem_after: 50h}`, Env{Now: func() time.Time { return now }, Heartbeats: src})
			wantLevel(t, r, c.level, c.success)
			if !strings.Contains(r.Message, c.message) {
				t.Errorf("message %q does not contain %q", r.Message, c.message)
			}
			if c.hb != nil && *r.Value != now.Sub(c.hb.ReceivedAt).Seconds() {
				t.Errorf("value = %v, want the age in seconds", *r.Value)
			}
		})
	}
}
