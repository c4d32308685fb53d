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
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/exporter/probe"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// Observer receives every result of every check: the store's recorder,
// the evaluator. Observe is called in the check's goroutine once per run
// that counts, so it must return at once: queue the result, never wait
// for I/O.
type Observer interface {
	Observe(id status.CheckID, res status.Result)
}

// HeartbeatRecorder keeps the reports of jobs to heartbeat checks, e.g. in
// the store.
type HeartbeatRecorder interface {
	RecordHeartbeat(id status.CheckID, hb store.Heartbeat)
}

// Options configure an Exporter. Only Logger is required.
type Options struct {
	Logger *slog.Logger
	// Clock drives the scheduler and timestamps; the real clock when nil.
	Clock clockwork.Clock
	// Observers receive every result.
	Observers []Observer
	// Heartbeats keeps heartbeat reports; nil keeps nothing.
	Heartbeats HeartbeatRecorder
	// Store is statusd's own database, for the storage kind; may be nil.
	Store probe.Pinger
	// Writes tells how writing to it goes, for the storage kind; may be
	// nil.
	Writes probe.WriteHealth
	// Build describes this binary, for the build kind.
	Build probe.BuildInfo
	// Owns tells whether this process runs a check at a moment, when
	// replicas share them out; nil runs every check. A check it does
	// not run is served from the results Adopt gives it: it is not run,
	// not even for a fresh result, and not exported in WriteMetrics.
	Owns func(id status.CheckID, locations []string, at time.Time) bool
	// Location is where this process runs (--cluster.location): it runs
	// the checks that list it as that location's.
	Location string
	// Shares receives the result of every run with this process's
	// location ("" for a check without locations), for the replicas;
	// may be nil.
	Shares interface {
		Share(id status.CheckID, location string, res status.Result)
	}
	// Registerer receives the scheduler's metrics; nil registers nothing.
	// The check metrics are written by WriteMetrics.
	Registerer prometheus.Registerer
}

// Exporter owns the configured checks.
type Exporter struct {
	logger     *slog.Logger
	clock      clockwork.Clock
	observers  []Observer
	hbRecorder HeartbeatRecorder
	env        probe.Env
	owns       func(status.CheckID, []string, time.Time) bool
	location   string
	shares     interface {
		Share(id status.CheckID, location string, res status.Result)
	}
	sched *scheduler
	set   atomic.Pointer[checkSet]

	// life bounds fresh runs, which no request may cancel; Run cancels it
	// at shutdown and waits for the runs in flights.
	life    context.Context
	stop    context.CancelFunc
	mu      sync.Mutex // guards stopped and flights.Add
	stopped bool
	flights sync.WaitGroup

	hbMu       sync.RWMutex
	heartbeats map[status.CheckID]store.Heartbeat

	// freshFloor is how old a result may be and still count as fresh: a
	// request for fresh results within it is answered from the last run
	// instead of probing again, so that a check runs fresh at most once
	// per it, however many ask.
	freshFloor atomic.Int64
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
	if opts.Owns == nil {
		opts.Owns = func(status.CheckID, []string, time.Time) bool { return true }
	}
	e := &Exporter{
		owns:       opts.Owns,
		location:   opts.Location,
		shares:     opts.Shares,
		logger:     opts.Logger,
		clock:      opts.Clock,
		observers:  opts.Observers,
		hbRecorder: opts.Heartbeats,
		heartbeats: map[status.CheckID]store.Heartbeat{},
	}
	e.life, e.stop = context.WithCancel(context.Background())
	e.freshFloor.Store(int64(DefaultFreshFloor))
	e.env = probe.Env{Now: e.clock.Now, Logger: opts.Logger, Heartbeats: e, Store: opts.Store, Writes: opts.Writes, Build: opts.Build}.WithPools()
	e.set.Store(&checkSet{byID: map[status.CheckID]*Check{}})
	e.sched = newScheduler(e.clock, config.DefaultMaxConcurrency, func(c *Check, at time.Time) bool { return e.owns(c.ID, c.Locations, at) }, func(ctx context.Context, c *Check) {
		// A check that is already running (a fresh run someone asked
		// for) skips this slot: that run's result is as new.
		if f, started := c.begin(); started {
			c.fly(ctx, f, e.clock.Now, e.logger, e.record)
		}
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
			location := ""
			if len(r.Checks[i].Locations) > 0 && slices.Contains(r.Checks[i].Locations, e.location) {
				location = e.location
			}
			c, err := newCheck(id, &r.Checks[i], e.env, location, old.byID[id])
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
	if f := time.Duration(cfg.API.FreshMinInterval); f > 0 {
		e.freshFloor.Store(int64(f))
	}
	e.sched.setConcurrency(cfg.Scheduler.MaxConcurrency)
	all := make([]*Check, 0, len(next.byID))
	for _, r := range next.resources {
		all = append(all, r.Checks...)
	}
	e.sched.set(all)
	return nil
}

// Run schedules the checks until ctx ends. Then it cancels the runs in
// progress, scheduled or fresh, whose results are dropped (a run cut short
// by statusd's own shutdown says nothing about the target), and waits for
// them to return.
func (e *Exporter) Run(ctx context.Context) {
	e.sched.run(ctx)
	e.mu.Lock()
	e.stopped = true
	e.mu.Unlock()
	e.stop()
	e.flights.Wait()
}

// Resources returns the configured resources and checks, in config order.
func (e *Exporter) Resources() []Resource { return e.set.Load().resources }

// Len is the number of configured checks.
func (e *Exporter) Len() int { return len(e.set.Load().byID) }

// Owned is the number of checks this process ran at their last slot:
// kept by the scheduler as it goes, so that reading it costs nothing
// (counting afresh cost a member of three sharing 9,000 checks 6 % of
// its CPU, at each renewal).
func (e *Exporter) Owned() int { return int(e.sched.owned.Load()) }

// Adopt takes a result of a check that another process ran (a replica
// that owns it) in a location ("" for a check without locations), when
// it is newer than the one it has, and returns the check's result now
// (for a check with locations, what they decide); changed is false when
// it did not take it. Adopted results are served, not recorded: the
// process that ran the check recorded them.
func (e *Exporter) Adopt(id status.CheckID, location string, res status.Result) (decided status.Result, changed bool) {
	c, ok := e.Check(id)
	if !ok {
		return status.Result{}, false
	}
	if location != "" && len(c.Locations) > 0 {
		return c.site(location, res)
	}
	for {
		cur := c.state.latest.Load()
		if cur != nil && !res.CheckedAt.After(cur.CheckedAt) {
			return status.Result{}, false
		}
		if c.state.latest.CompareAndSwap(cur, &res) {
			return res, true
		}
	}
}

// Check returns a configured check.
func (e *Exporter) Check(id status.CheckID) (*Check, bool) {
	c, ok := e.set.Load().byID[id]
	return c, ok
}

// DefaultFreshFloor is how old a result may be and still count as fresh
// when the config does not say (api.fresh_min_interval).
const DefaultFreshFloor = 5 * time.Second

// Fresh returns a fresh result of each check, in order: the last one when
// it ended less than the fresh floor ago, the run in progress when there is one,
// or a new run. New runs start at once, all together, under the
// scheduler's concurrency bound, and are detached from ctx: when ctx ends
// (the client went away) Fresh stops waiting and returns the current
// results, and the runs go on and are recorded as usual.
func (e *Exporter) Fresh(ctx context.Context, checks []*Check) []status.Result {
	out := make([]status.Result, len(checks))
	flights := make([]*flight, len(checks))
	floor := time.Duration(e.freshFloor.Load())
	fresh := func(r status.Result) bool { return e.clock.Since(r.CheckedAt.Add(r.Duration)) < floor }
	now := e.clock.Now()
	for i, c := range checks {
		if !e.owns(c.ID, c.Locations, now) {
			out[i] = c.Current() // its owner runs it and shares the result
			continue
		}
		f, started, latest := c.beginUnless(fresh)
		if latest != nil {
			out[i] = *latest
			continue
		}
		if started {
			e.start(c, f)
		}
		flights[i] = f
	}
	for i, f := range flights {
		if f != nil {
			out[i] = e.await(ctx, checks[i], f)
		}
	}
	return out
}

// rerun runs a check again even if a run is in progress (which may have
// read the state before a change, such as a new heartbeat) and returns the
// new result.
func (e *Exporter) rerun(ctx context.Context, c *Check) status.Result {
	for {
		f, started := e.launch(c)
		if started {
			return e.await(ctx, c, f)
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return c.Current()
		}
	}
}

// launch starts a run of c detached from any request, or returns the run
// in progress.
func (e *Exporter) launch(c *Check) (*flight, bool) {
	f, started := c.begin()
	if started {
		e.start(c, f)
	}
	return f, started
}

// start runs a flight that begin started, detached from any request.
func (e *Exporter) start(c *Check, f *flight) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		c.land(f, status.Result{}, false, nil)
		return
	}
	e.flights.Add(1)
	go func() {
		defer e.flights.Done()
		release, err := e.sched.acquire(e.life)
		if err != nil {
			c.land(f, status.Result{}, false, nil)
			return
		}
		defer release()
		c.fly(e.life, f, e.clock.Now, e.logger, e.record)
	}()
}

// await waits for a flight until ctx ends and returns its result, or the
// check's current one when the run did not count or ctx ended first.
func (e *Exporter) await(ctx context.Context, c *Check, f *flight) status.Result {
	select {
	case <-f.done:
		if f.kept {
			return f.res
		}
	case <-ctx.Done():
	}
	return c.Current()
}

func (e *Exporter) record(c *Check, run, decided status.Result) {
	for _, o := range e.observers {
		o.Observe(c.ID, decided)
	}
	if e.shares != nil {
		e.shares.Share(c.ID, c.location, run)
	}
}

// LoadHeartbeats seeds the last reports, e.g. from the store at start,
// keeping any newer one received meanwhile. A heartbeat check whose report
// this changes and that has already run runs again, so that its result
// reflects the report.
func (e *Exporter) LoadHeartbeats(ctx context.Context, last map[status.CheckID]store.Heartbeat) {
	var stale []*Check
	e.hbMu.Lock()
	for id, hb := range last {
		if cur, ok := e.heartbeats[id]; !ok || hb.ReceivedAt.After(cur.ReceivedAt) {
			e.heartbeats[id] = hb
			if c, ok := e.Check(id); ok && c.reported && e.owns(id, c.Locations, e.clock.Now()) {
				if _, ran := c.Latest(); ran {
					stale = append(stale, c)
				}
			}
		}
	}
	e.hbMu.Unlock()
	for _, c := range stale {
		e.rerun(ctx, c)
	}
}

// LastHeartbeat implements probe.HeartbeatSource.
func (e *Exporter) LastHeartbeat(id status.CheckID) (store.Heartbeat, bool) {
	e.hbMu.RLock()
	defer e.hbMu.RUnlock()
	hb, ok := e.heartbeats[id]
	return hb, ok
}

// AuthorizeHeartbeat tells whether a token may report to a check.
func (e *Exporter) AuthorizeHeartbeat(id status.CheckID, token string) error {
	_, err := e.heartbeatCheck(id, token)
	return err
}

func (e *Exporter) heartbeatCheck(id status.CheckID, token string) (*Check, error) {
	c, ok := e.Check(id)
	switch {
	case !ok:
		return nil, fmt.Errorf("check %s %w", id, status.ErrNotFound)
	case !c.reported:
		return nil, fmt.Errorf("%s: %w", id, status.ErrNotHeartbeat)
	case c.token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(c.token)) != 1:
		return nil, fmt.Errorf("%s: %w", id, status.ErrUnauthorized)
	}
	return c, nil
}

// ReportHeartbeat records a job's report to a heartbeat check and returns
// the check's new result.
func (e *Exporter) ReportHeartbeat(ctx context.Context, id status.CheckID, token string, hb store.Heartbeat) (status.Result, error) {
	c, err := e.heartbeatCheck(id, token)
	if err != nil {
		return status.Result{}, err
	}
	if hb.ReceivedAt.IsZero() {
		hb.ReceivedAt = e.clock.Now()
	}
	// As the database keeps it, so that the report read back from there
	// (replicas share them) is the same one, not a newer one.
	hb.ReceivedAt = hb.ReceivedAt.Truncate(time.Microsecond)
	e.hbMu.Lock()
	e.heartbeats[id] = hb
	e.hbMu.Unlock()
	if e.hbRecorder != nil {
		e.hbRecorder.RecordHeartbeat(id, hb)
	}
	if !e.owns(id, c.Locations, e.clock.Now()) {
		// Its owner reads the report from the database and runs it; the
		// reporter is answered with what that run will say.
		return c.execute(ctx, e.clock.Now, e.logger), nil
	}
	return e.rerun(ctx, c), nil
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
