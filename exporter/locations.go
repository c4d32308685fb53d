package exporter

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/statusd/statusd/internal/status"
)

// A check with locations runs once in each; each location's latest
// result is kept (checkState.sites) and the check's result is what they
// decide (decide). A process with no location (one statusd alone, or a
// member started without --cluster.location) runs such a check as any
// other, when it runs it at all.

// site keeps a location's result when it is newer than the one kept,
// and returns what the locations decide now; changed is false when the
// result was not newer.
func (c *Check) site(location string, res status.Result) (decided status.Result, changed bool) {
	s := c.state
	s.sitesMu.Lock()
	defer s.sitesMu.Unlock()
	if cur, ok := s.sites[location]; ok && !res.CheckedAt.After(cur.CheckedAt) {
		return status.Result{}, false
	}
	if s.sites == nil {
		s.sites = map[string]status.Result{}
	}
	res.Locations = nil
	s.sites[location] = res
	decided = decide(s.sites, c.Interval, c.Quorum)
	s.latest.Store(&decided)
	return decided, true
}

// siteResult is this location's latest result of c.
func (c *Check) siteResult(location string) (status.Result, bool) {
	c.state.sitesMu.Lock()
	defer c.state.sitesMu.Unlock()
	r, ok := c.state.sites[location]
	return r, ok
}

// decide turns the locations' latest results into the check's. The
// locations that count are those that reported within two intervals of
// the newest result (all of them when none did, for want of better);
// the check is at the worst level that quorum of them see (0: a majority
// of those that count), and fails when quorum of them fail. A quorum
// larger than the locations that count is lowered to their number: a
// location that went silent does not hide an outage the others all see.
func decide(sites map[string]status.Result, interval time.Duration, quorum int) status.Result {
	var newest time.Time
	for _, r := range sites {
		if r.CheckedAt.After(newest) {
			newest = r.CheckedAt
		}
	}
	names := make([]string, 0, len(sites))
	for name, r := range sites {
		if !r.CheckedAt.Before(newest.Add(-2 * interval)) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	n := len(names)
	q := quorum
	if q <= 0 {
		q = n/2 + 1
	}
	q = min(q, n)
	out := status.Result{Level: status.Fine, Success: true, CheckedAt: newest, Locations: map[string]status.Result{}}
	for name, r := range sites {
		out.Locations[name] = r
	}
	var at [3]int // locations at or above each level
	failed := 0
	var worse []string
	for _, name := range names {
		r := sites[name]
		for l := status.Fine; l <= r.Level && int(l) < len(at); l++ {
			at[l]++
		}
		if !r.Success {
			failed++
		}
		if r.Level != status.Fine {
			worse = append(worse, fmt.Sprintf("%s: %s", name, r.Message))
		}
		out.Duration = max(out.Duration, r.Duration)
		if r.CheckedAt.Equal(newest) {
			out.Value = r.Value
		}
	}
	for l := status.Problem; l > status.Fine; l-- {
		if at[l] >= q {
			out.Level = l
			break
		}
	}
	out.Success = failed < q
	summary := fmt.Sprintf("%d of %d locations fine (quorum %d)", n-len(worse), n, q)
	if len(worse) > 0 {
		summary += "; " + strings.Join(worse, "; ")
	}
	out.Message = summary
	return out
}
