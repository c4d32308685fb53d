// Package exporter runs statusd's checks: it builds them from the config,
// schedules them, keeps the latest result of each in memory and serves
// them as Prometheus metrics, in the manner of blackbox_exporter but with
// its own scheduler instead of one probe per scrape.
package exporter

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/exporter/probe"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// Recorder keeps results and heartbeats, e.g. in the store.
type Recorder interface {
	Record(id status.CheckID, res status.Result)
	RecordHeartbeat(id status.CheckID, hb store.Heartbeat)
}

// Options configure an Exporter. Only Logger is required.
type Options struct {
	Logger *slog.Logger
	// Clock drives the scheduler and timestamps; the real clock when nil.
	Clock clockwork.Clock
	// Recorder receives every result and heartbeat; nil keeps nothing.
	Recorder Recorder
	// Store is statusd's own database, for the storage kind; may be nil.
	Store probe.Pinger
	// Build describes this binary, for the build kind.
	Build probe.BuildInfo
	// Registerer receives the scheduler's metrics; nil registers nothing.
	// The check metrics are written by WriteMetrics.
	Registerer prometheus.Registerer
}

// Exporter owns the configured checks.
type Exporter struct {
	logger   *slog.Logger
	clock    clockwork.Clock
	recorder Recorder
	env      probe.Env
	sched    *scheduler
	set      atomic.Pointer[checkSet]

	hbMu       sync.RWMutex
	heartbeats map[status.CheckID]store.Heartbeat
}

// checkSet is one config's checks, replaced whole on reload.
type checkSet struct {
	resources []Resource
	byID      map[status.CheckID]*Check
}

// Resource is a named group of checks, in config order.
type Resource struct {
	Name   string
	Checks []*Check
}

// New returns an exporter with no checks; Apply gives it some.
func New(opts Options) *Exporter {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	e := &Exporter{
		logger:     opts.Logger,
		clock:      opts.Clock,
		recorder:   opts.Recorder,
		heartbeats: map[status.CheckID]store.Heartbeat{},
	}
	e.env = probe.Env{Now: e.clock.Now, Logger: opts.Logger, Heartbeats: e, Store: opts.Store, Build: opts.Build}
	e.set.Store(&checkSet{byID: map[status.CheckID]*Check{}})
	e.sched = newScheduler(e.clock, config.DefaultMaxConcurrency, func(ctx context.Context, c *Check) {
		c.run(ctx, e.clock.Now, e.logger, e.record)
	})
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(e.sched.delay, e.sched.skipped)
	}
	return e
}

// Apply builds the checks of a config and swaps them in, or changes nothing
// and returns every error. Checks that stay keep their results, counters
// and schedule; new checks run at once; removed ones disappear.
func (e *Exporter) Apply(cfg *config.Config) error {
	old := e.set.Load()
	next := &checkSet{byID: map[status.CheckID]*Check{}}
	var errs []error
	for _, r := range cfg.Resources {
		res := Resource{Name: r.Name}
		for i := range r.Checks {
			id := r.Checks[i].ID(r.Name)
			c, err := newCheck(id, &r.Checks[i], e.env, old.byID[id])
			if err != nil {
				errs = append(errs, err)
				continue
			}
			res.Checks = append(res.Checks, c)
			next.byID[id] = c
		}
		next.resources = append(next.resources, res)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	e.set.Store(next)
	e.sched.setConcurrency(cfg.Scheduler.MaxConcurrency)
	all := make([]*Check, 0, len(next.byID))
	for _, r := range next.resources {
		all = append(all, r.Checks...)
	}
	e.sched.set(all)
	return nil
}

// Run schedules the checks until ctx ends, then waits for runs in progress.
func (e *Exporter) Run(ctx context.Context) {
	e.sched.run(ctx)
}

// Resources returns the configured resources and checks, in config order.
func (e *Exporter) Resources() []Resource { return e.set.Load().resources }

// Check returns a configured check.
func (e *Exporter) Check(id status.CheckID) (*Check, bool) {
	c, ok := e.set.Load().byID[id]
	return c, ok
}

// RunNow runs checks at once, all together, and returns their results in
// order. A check already running is waited for instead of run again.
func (e *Exporter) RunNow(ctx context.Context, checks []*Check) []status.Result {
	out := make([]status.Result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = c.run(ctx, e.clock.Now, e.logger, e.record)
		}()
	}
	wg.Wait()
	return out
}

func (e *Exporter) record(c *Check, res status.Result) {
	if e.recorder != nil {
		e.recorder.Record(c.ID, res)
	}
}

// LoadHeartbeats seeds the last reports, e.g. from the store at start.
func (e *Exporter) LoadHeartbeats(last map[status.CheckID]store.Heartbeat) {
	e.hbMu.Lock()
	defer e.hbMu.Unlock()
	for id, hb := range last {
		e.heartbeats[id] = hb
	}
}

// LastHeartbeat implements probe.HeartbeatSource.
func (e *Exporter) LastHeartbeat(id status.CheckID) (store.Heartbeat, bool) {
	e.hbMu.RLock()
	defer e.hbMu.RUnlock()
	hb, ok := e.heartbeats[id]
	return hb, ok
}

// Errors of ReportHeartbeat.
var (
	ErrNotFound     = errors.New("not found")
	ErrNotHeartbeat = errors.New("not a heartbeat check")
	ErrUnauthorized = errors.New("wrong or missing token")
)

// ReportHeartbeat records a job's report to a heartbeat check and returns
// the check's new result.
func (e *Exporter) ReportHeartbeat(ctx context.Context, id status.CheckID, token string, hb store.Heartbeat) (status.Result, error) {
	c, ok := e.Check(id)
	switch {
	case !ok:
		return status.Result{}, fmt.Errorf("check %s %w", id, ErrNotFound)
	case c.Kind != "heartbeat":
		return status.Result{}, fmt.Errorf("%s: %w", id, ErrNotHeartbeat)
	case c.token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(c.token)) != 1:
		return status.Result{}, fmt.Errorf("%s: %w", id, ErrUnauthorized)
	}
	if hb.ReceivedAt.IsZero() {
		hb.ReceivedAt = e.clock.Now()
	}
	e.hbMu.Lock()
	e.heartbeats[id] = hb
	e.hbMu.Unlock()
	if e.recorder != nil {
		e.recorder.RecordHeartbeat(id, hb)
	}
	return e.RunNow(ctx, []*Check{c})[0], nil
}

// Restore seeds the latest results, e.g. from the store at start, for
// checks that have not run yet.
func (e *Exporter) Restore(latest map[status.CheckID]status.Result) {
	for id, res := range latest {
		if c, ok := e.Check(id); ok {
			r := res
			c.state.latest.CompareAndSwap(nil, &r)
		}
	}
}
