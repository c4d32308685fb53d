package exporter

import (
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/status"
)

// The locations' results decide the check's: the worst level a quorum
// of them see, counting the locations that reported within two
// intervals.
func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	fine := func(at time.Time) status.Result {
		return status.Result{Level: status.Fine, Success: true, Message: "200 OK", CheckedAt: at}
	}
	down := func(at time.Time) status.Result {
		return status.Result{Level: status.Problem, Message: "connection refused", CheckedAt: at}
	}
	slow := func(at time.Time) status.Result {
		return status.Result{Level: status.Warning, Success: true, Message: "slow", CheckedAt: at}
	}
	for _, tc := range []struct {
		name    string
		sites   map[string]status.Result
		quorum  int
		level   status.Level
		success bool
		message string
	}{
		{"one location down of two, majority", map[string]status.Result{"eu": fine(t0), "us": down(t0)}, 0,
			status.Fine, true, "1 of 2 locations fine (quorum 2); us: connection refused"},
		{"both down", map[string]status.Result{"eu": down(t0), "us": down(t0.Add(time.Second))}, 0, status.Problem, false, "0 of 2"},
		{"one down, quorum 1", map[string]status.Result{"eu": fine(t0), "us": down(t0)}, 1, status.Problem, false, "quorum 1"},
		{"two of three down", map[string]status.Result{"eu": down(t0), "us": down(t0), "ap": fine(t0)}, 0, status.Problem, false, "1 of 3"},
		{"one down, one slow, of three", map[string]status.Result{"eu": down(t0), "us": slow(t0), "ap": fine(t0)}, 0, status.Warning, true, "1 of 3"},
		{"a silent location does not count", map[string]status.Result{"eu": down(t0.Add(-time.Minute)), "us": fine(t0)}, 0, status.Fine, true, "1 of 1"},
		{"a quorum above the locations that report is lowered", map[string]status.Result{"eu": down(t0.Add(-time.Minute)), "us": down(t0)}, 2, status.Problem, false, "quorum 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decide(tc.sites, 10*time.Second, tc.quorum)
			if got.Level != tc.level || got.Success != tc.success || !strings.Contains(got.Message, tc.message) || len(got.Locations) != len(tc.sites) {
				t.Errorf("decided %v success %v %q with %d locations, want %v %v %q", got.Level, got.Success, got.Message, len(got.Locations), tc.level, tc.success, tc.message)
			}
		})
	}
}

// A run of a check with locations that lands after a newer result of the
// same location (another member of it ran the check since) leaves the
// check's result as it stands: it is not replaced by nothing.
func TestLateRunOfALocation(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	c := testCheck("api", 10*time.Second)
	c.Locations, c.location = []string{"eu", "us"}, "eu"
	if _, changed := c.site("eu", status.Result{Level: status.Problem, Message: "refused", CheckedAt: t0.Add(time.Second)}); !changed {
		t.Fatal("the first result of eu was not kept")
	}
	var got status.Result
	c.land(&flight{done: make(chan struct{})}, status.Result{Level: status.Fine, Success: true, CheckedAt: t0}, true,
		func(_ *Check, _, decided status.Result) { got = decided })
	if got.CheckedAt.IsZero() || got.Level != status.Problem || c.Current().Level != status.Problem {
		t.Errorf("after a late run: observed %+v, current %+v; want the newer problem to stand", got, c.Current())
	}
}
