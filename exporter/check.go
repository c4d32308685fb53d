package exporter

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/statusd/statusd/exporter/probe"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/exposition"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/threshold"
)

// Check is a configured check with its prober and latest result.
type Check struct {
	ID       status.CheckID
	Kind     string
	Interval time.Duration
	Timeout  time.Duration
	// Description labels the check on pages.
	Description string

	// Locations run the check once in each; Quorum of them decide its
	// level (see decide).
	Locations []string
	Quorum    int
	// location is this process's location when it runs the check as one
	// of its locations, "" otherwise.
	location string
	// responseTimed: a run's duration is a response time (ResponseTimed).
	responseTimed bool

	warning, problem *threshold.Expr
	prober           probe.Prober
	// reported is set for a check that jobs report to (heartbeats),
	// with the token a report must carry ("" takes any).
	reported   bool
	token      string
	labels     exposition.Labels // its metric labels, rendered
	infoLabels exposition.Labels // its labels with its kind, for statusd_check_info
	state      *checkState
}

// checkState outlives config reloads: a check keeps its latest result and
// counters as long as its resource/check address stays in the config.
type checkState struct {
	latest   atomic.Pointer[status.Result]
	runs     atomic.Uint64
	failures atomic.Uint64

	mu     sync.Mutex
	flight *flight // the run in progress, shared by everyone who asks

	// sites are the latest results of each location, for a check with
	// locations.
	sitesMu sync.Mutex
	sites   map[string]status.Result
}

// flight is one run of a check, which everyone who asks for a fresh result
// while it lasts shares.
type flight struct {
	done chan struct{}
	res  status.Result
	// kept is false when the run did not count: statusd was shutting down.
	kept bool
}

// ResponseTimed tells whether the check's runs time a response, so that
// their durations are response times worth a chart (an http check's).
func (c *Check) ResponseTimed() bool { return c.responseTimed }

// Runs is how many runs of the check counted since statusd started.
func (c *Check) Runs() uint64 { return c.state.runs.Load() }

// Latest returns the newest result, false before the first run ends.
func (c *Check) Latest() (status.Result, bool) {
	if r := c.state.latest.Load(); r != nil {
		return *r, true
	}
	return status.Result{}, false
}

// newCheck builds a check; location is this process's, when it runs
// the check as one of its locations.
func newCheck(id status.CheckID, c *config.Check, env probe.Env, location string, prev *Check) (*Check, error) {
	p, err := probe.New(id, c, env)
	if err != nil {
		return nil, err
	}
	ch := &Check{
		ID:            id,
		Kind:          c.Kind,
		Interval:      time.Duration(c.Interval),
		Timeout:       time.Duration(c.Timeout),
		Description:   c.Description,
		Locations:     c.Locations,
		Quorum:        c.Quorum,
		location:      location,
		responseTimed: c.ResponseTimed(),
		warning:       c.Warning,
		problem:       c.Problem,
		prober:        p,
		labels:        checkLabels(id, location),
		infoLabels:    infoLabels(id, c.Kind, location),
		state:         &checkState{},
	}
	if r, ok := p.(probe.Reported); ok {
		ch.reported, ch.token = true, r.Token()
	}
	if prev != nil {
		ch.state = prev.state
	}
	return ch, nil
}

// begin starts a flight of the check, or returns the one in progress with
// started false: a check never overlaps itself.
func (c *Check) begin() (f *flight, started bool) {
	f, started, _ = c.beginUnless(nil)
	return f, started
}

// beginUnless is begin, unless no run is in progress and the latest
// result is fresh by the rule given: then it returns that result and no
// flight. The result is read under the flight's lock, so that a run that
// landed since the caller last looked counts (land stores the result
// before it ends the flight).
func (c *Check) beginUnless(fresh func(status.Result) bool) (f *flight, started bool, latest *status.Result) {
	s := c.state
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flight != nil {
		return s.flight, false, nil
	}
	if r := s.latest.Load(); r != nil && fresh != nil && fresh(*r) {
		return nil, false, r
	}
	s.flight = &flight{done: make(chan struct{})}
	return s.flight, true, nil
}

// fly runs the flight f that begin started, within ctx: the lifetime of
// the scheduler or of the exporter, never a request's. A run that ctx
// cancels (statusd shutting down) is not a result: it is neither kept,
// counted nor recorded. record is called once per kept run.
func (c *Check) fly(ctx context.Context, f *flight, now func() time.Time, logger *slog.Logger, record recordFunc) {
	res := c.execute(ctx, now, logger)
	c.land(f, res, ctx.Err() == nil, record)
}

// recordFunc receives a kept run: its own result and the check's, which
// for a check with locations is what they decide.
type recordFunc func(c *Check, run, decided status.Result)

// land ends a flight with its result: the check's result (for a check
// with locations, what the run and the other locations' decide).
func (c *Check) land(f *flight, res status.Result, keep bool, record recordFunc) {
	s := c.state
	f.res, f.kept = res, keep
	if keep {
		if c.location != "" {
			// (Not newer than its location's latest, which another
			// member of the location ran since: the check's stands.)
			decided, changed := c.site(c.location, res)
			if !changed {
				decided = c.Current()
			}
			f.res = decided
		} else {
			s.latest.Store(&f.res)
		}
		s.runs.Add(1)
		if !res.Success {
			s.failures.Add(1)
		}
		if record != nil {
			record(c, res, f.res)
		}
	}
	s.mu.Lock()
	s.flight = nil
	s.mu.Unlock()
	close(f.done)
}

// execute runs the prober within the timeout, times it and applies the
// thresholds. A panicking prober becomes a problem result.
func (c *Check) execute(ctx context.Context, now func() time.Time, logger *slog.Logger) (res status.Result) {
	start := now()
	ctx, cancel := probe.WithTimeout(ctx, c.Timeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			logger.Error("Check panicked", "check", c.ID.String(), "panic", v, "stack", string(debug.Stack()))
			res = status.Result{Level: status.Problem, Message: fmt.Sprintf("internal error: %v", v)}
		}
		res.CheckedAt = start
		res.Duration = now().Sub(start)
	}()
	res = c.prober.Probe(ctx)
	if !res.Success {
		res.Level = status.Problem
		return res
	}
	if res.Value != nil {
		v := *res.Value
		switch {
		case c.problem != nil && c.problem.Eval(v):
			res.Level = status.Problem
			res.Message += fmt.Sprintf(" (problem: %s)", c.problem)
		case c.warning != nil && c.warning.Eval(v):
			res.Level = status.Worst(res.Level, status.Warning)
			res.Message += fmt.Sprintf(" (warning: %s)", c.warning)
		}
	}
	return res
}
