package store

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/internal/status"
)

// Recorder writes check results and heartbeats to the store in batches, off
// the checks' path: Record never blocks on the database. Results are
// counted into minute rollups in memory as they arrive; minutes that have
// passed are written every RollupInterval, together with the hour and day
// rollups they add to (a crash loses at most that much of the rollups, a
// shutdown nothing). When the database is away, batches wait and
// are retried; past MaxPending raw results the oldest are dropped (and
// counted), while heartbeats and rollups are kept.
type Recorder struct {
	store  *Store
	logger *slog.Logger
	now    func() time.Time
	opts   RecorderOptions

	// flushing serialises flushes; it guards ids.
	flushing sync.Mutex
	ids      map[status.CheckID]int64

	mu         sync.Mutex
	results    []pendingResult
	heartbeats []pendingHeartbeat
	// checks holds, for each check, its last result queued for storing
	// and its runs of the minutes not yet written; oldest is the oldest
	// of those minutes (Unix minute) when tallied is set.
	checks  map[status.CheckID]*checkRecord
	oldest  int64
	tallied bool

	pending   prometheus.GaugeFunc
	dropped   prometheus.Counter
	failures  prometheus.Counter
	flushTime prometheus.Histogram

	// outage is set while writes fail, for logging it once; failingSince
	// (guarded by mu) is when they started failing, for WriteHealth.
	outage       *outage
	failingSince time.Time
	// kick tells Run that something was queued, so that it writes within
	// FlushInterval; with nothing queued it wakes once a minute (rollups
	// of passed minutes), not every FlushInterval.
	kick chan struct{}
}

// outage is a time writes have been failing.
type outage struct {
	since, logged time.Time
}

// outageLogEvery is how often a write outage is logged again.
const outageLogEvery = time.Minute

// RecorderOptions tune a Recorder. Zero values take the defaults.
type RecorderOptions struct {
	FlushInterval time.Duration // default 1s
	MaxPending    int           // default 100,000 raw results
	PruneInterval time.Duration // default 10m; negative disables pruning
	// RollupInterval is how often passed minutes are written (default 5m).
	RollupInterval time.Duration
	// ResultsInterval is how often an unchanged result of a check is
	// stored as a raw result; changes of level or success always are.
	// 0 stores every result.
	ResultsInterval time.Duration
	Retention       Retention
	Now             func() time.Time
	// Ready, when set, holds every write until it is closed: the store
	// is connected and migrated. Results queue meanwhile.
	Ready <-chan struct{}
	// OnWrite, when set, is told the outcome of every write.
	OnWrite func(error)
}

// checkRecord is what the recorder holds for one check, in one map entry
// (a map per minute, keyed by check, held 150 bytes per check and minute;
// this holds 40: BENCHMARKS.md, "3 December, evening").
type checkRecord struct {
	// kept is the check's last result queued for storing.
	kept keptResult
	// minutes are its runs by minute not yet written, oldest first.
	minutes []minuteTally
}

type keptResult struct {
	seen    bool // false before the check's first result
	level   status.Level
	success bool
	at      time.Time
}

type minuteTally struct {
	minute int64 // Unix minute
	tally
}

// at returns the check's tally of a minute, added in order when new.
func (c *checkRecord) at(minute int64) *tally {
	i := len(c.minutes)
	for i > 0 && c.minutes[i-1].minute > minute {
		i--
	}
	if i == 0 || c.minutes[i-1].minute != minute {
		c.minutes = slices.Insert(c.minutes, i, minuteTally{minute: minute})
		return &c.minutes[i].tally
	}
	return &c.minutes[i-1].tally
}

type pendingResult struct {
	id  status.CheckID
	res status.Result
}

type pendingHeartbeat struct {
	id status.CheckID
	hb Heartbeat
}

// NewRecorder returns a recorder writing to s. Its metrics are registered
// on reg when it is not nil.
func NewRecorder(s *Store, logger *slog.Logger, reg prometheus.Registerer, opts RecorderOptions) *Recorder {
	if opts.FlushInterval == 0 {
		opts.FlushInterval = time.Second
	}
	if opts.MaxPending == 0 {
		opts.MaxPending = 100_000
	}
	if opts.RollupInterval == 0 {
		opts.RollupInterval = 5 * time.Minute
	}
	if opts.PruneInterval == 0 {
		opts.PruneInterval = 10 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Recorder{
		store:  s,
		logger: logger,
		now:    opts.Now,
		opts:   opts,
		checks: map[status.CheckID]*checkRecord{},
		ids:    map[status.CheckID]int64{},
		kick:   make(chan struct{}, 1),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "statusd_store_dropped_results_total",
			Help: "Check results dropped because the database was unavailable for too long.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "statusd_store_write_failures_total",
			Help: "Failed attempts to write check history to the database.",
		}),
		flushTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "statusd_store_write_duration_seconds",
			Help:    "Time taken to write a batch of check history.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
	}
	r.pending = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "statusd_store_pending_results",
		Help: "Check results waiting to be written to the database.",
	}, func() float64 {
		r.mu.Lock()
		defer r.mu.Unlock()
		return float64(len(r.results))
	})
	if reg != nil {
		reg.MustRegister(r.pending, r.dropped, r.failures, r.flushTime)
	}
	return r
}

// SetRetention changes what is kept, e.g. after a config reload.
func (r *Recorder) SetRetention(ret Retention, resultsInterval time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opts.Retention = ret
	r.opts.ResultsInterval = resultsInterval
}

// Observe counts a result of a check into its rollups and queues it to be
// stored as a raw result when it changed level or success, or when the
// check's last stored result is ResultsInterval old.
func (r *Recorder) Observe(id status.CheckID, res status.Result) {
	minute := res.CheckedAt.Unix() / 60
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.checks[id]
	if c == nil {
		c = &checkRecord{}
		r.checks[id] = c
	}
	if last := c.kept; !last.seen || last.level != res.Level || last.success != res.Success || res.CheckedAt.Sub(last.at) >= r.opts.ResultsInterval {
		c.kept = keptResult{true, res.Level, res.Success, res.CheckedAt}
		if len(r.results) >= r.opts.MaxPending {
			drop := len(r.results) - r.opts.MaxPending + 1
			r.results = append(r.results[:0], r.results[drop:]...)
			r.dropped.Add(float64(drop))
		}
		r.results = append(r.results, pendingResult{id, res})
		if len(r.results) == 1 {
			r.wake()
		}
	}
	c.at(minute).add(res)
	r.counted(minute)
}

// counted notes that a minute holds runs (under mu).
func (r *Recorder) counted(minute int64) {
	if !r.tallied || minute < r.oldest {
		r.oldest, r.tallied = minute, true
	}
}

// RecordHeartbeat queues a heartbeat report. Reports to one check that
// arrive before the next write are one row, the latest: a flood of
// reports writes at most a row per check per FlushInterval, and the
// check's last report is never lost.
func (r *Recorder) RecordHeartbeat(id status.CheckID, hb Heartbeat) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.heartbeats {
		if r.heartbeats[i].id == id {
			r.heartbeats[i].hb = hb
			return
		}
	}
	r.heartbeats = append(r.heartbeats, pendingHeartbeat{id, hb})
	r.wake()
}

// wake tells Run that something waits to be written; it never blocks.
func (r *Recorder) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// idleFlush is how often Run writes when nothing is queued: rollups of
// passed minutes are written RollupInterval after their minute, so a
// minute's precision is enough.
const idleFlush = time.Minute

// queued tells whether results or heartbeats wait to be written.
func (r *Recorder) queued() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.results) > 0 || len(r.heartbeats) > 0
}

// Run flushes every FlushInterval and prunes every PruneInterval until ctx
// ends, then flushes everything left, the current minute included.
func (r *Recorder) Run(ctx context.Context) {
	// The timer runs FlushInterval while something is queued and
	// idleFlush otherwise; soon tells which.
	flush := time.NewTimer(r.opts.FlushInterval)
	defer flush.Stop()
	soon := true
	var prune <-chan time.Time
	if r.opts.PruneInterval > 0 {
		t := time.NewTicker(r.opts.PruneInterval)
		defer t.Stop()
		prune = t.C
	}
	for {
		select {
		case <-ctx.Done():
			if !r.ready() {
				r.mu.Lock()
				n := len(r.results)
				r.mu.Unlock()
				if n > 0 {
					r.logger.Error("The database never answered; the check history of this run is lost", "pending_results", n)
				}
				return
			}
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := r.Flush(fctx, true); err != nil {
				r.logger.Error("Final write of check history failed; the last results are lost", "err", err)
			}
			return
		case <-r.kick:
			if !soon {
				flush.Reset(r.opts.FlushInterval)
				soon = true
			}
		case <-flush.C:
			if r.ready() {
				if wrote, err := r.flush(ctx, false); wrote && ctx.Err() == nil {
					r.noteWrite(err)
				}
			}
			next := idleFlush
			if r.queued() || !r.ready() {
				next = r.opts.FlushInterval
			}
			flush.Reset(next)
			soon = next == r.opts.FlushInterval
		case <-prune:
			if !r.ready() {
				continue
			}
			r.mu.Lock()
			ret := r.opts.Retention
			r.mu.Unlock()
			n, err := r.store.Prune(ctx, ret, r.now())
			if err != nil {
				r.logger.Warn("Pruning history failed", "err", err)
			} else if n > 0 {
				r.logger.Debug("Pruned history", "rows", n)
			}
		}
	}
}

// WriteHealth tells how writing goes: since when writes have been
// failing (zero while they succeed) and how many results wait.
func (r *Recorder) WriteHealth() (failingSince time.Time, pending int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failingSince, len(r.results)
}

// ready tells whether writes may be made.
func (r *Recorder) ready() bool {
	if r.opts.Ready == nil {
		return true
	}
	select {
	case <-r.opts.Ready:
		return true
	default:
		return false
	}
}

// noteWrite logs the outcome of a flush: once when writes start failing, at
// most once a minute while they keep failing, and once when they resume,
// each time with how many results wait.
func (r *Recorder) noteWrite(err error) {
	if r.opts.OnWrite != nil {
		r.opts.OnWrite(err)
	}
	now := r.now()
	r.mu.Lock()
	pending := len(r.results)
	switch {
	case err != nil && r.failingSince.IsZero():
		r.failingSince = now
	case err == nil:
		r.failingSince = time.Time{}
	}
	r.mu.Unlock()
	switch {
	case err != nil && r.outage == nil:
		r.outage = &outage{since: now, logged: now}
		r.logger.Warn("Writing check history failed; results wait in memory and are written when the database answers",
			"err", err, "pending_results", pending)
	case err != nil && now.Sub(r.outage.logged) >= outageLogEvery:
		r.outage.logged = now
		r.logger.Warn("Writing check history still fails", "for", now.Sub(r.outage.since).Round(time.Second),
			"err", err, "pending_results", pending)
	case err == nil && r.outage != nil:
		r.logger.Info("Writing check history resumed", "after", now.Sub(r.outage.since).Round(time.Second),
			"pending_results", pending)
		r.outage = nil
	}
}

// Flush writes what is queued: results, heartbeats and the minute rollups
// of minutes that have passed (all of them when final is set). On failure
// everything is kept for the next attempt.
func (r *Recorder) Flush(ctx context.Context, final bool) error {
	_, err := r.flush(ctx, final)
	return err
}

// flush is Flush, telling also whether there was anything to write.
func (r *Recorder) flush(ctx context.Context, final bool) (bool, error) {
	r.flushing.Lock()
	defer r.flushing.Unlock()
	r.mu.Lock()
	results, heartbeats := r.results, r.heartbeats
	r.results, r.heartbeats = nil, nil
	current := r.now().Unix() / 60
	due := r.tallied && (final || time.Duration(current-r.oldest)*time.Minute >= r.opts.RollupInterval)
	var closed []status.CheckID
	var minutes []Rollup
	if due {
		r.tallied = false
		for id, c := range r.checks {
			left := c.minutes[:0]
			for _, m := range c.minutes {
				if final || m.minute < current {
					closed = append(closed, id)
					minutes = append(minutes, m.rollup(m.minute))
				} else {
					left = append(left, m)
					r.counted(m.minute)
				}
			}
			c.minutes = left
		}
	}
	r.mu.Unlock()
	if len(results) == 0 && len(heartbeats) == 0 && len(minutes) == 0 {
		return false, nil
	}

	start := time.Now()
	err := r.write(ctx, results, heartbeats, closed, minutes)
	if err == nil {
		r.flushTime.Observe(time.Since(start).Seconds())
		return true, nil
	}
	r.failures.Inc()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results = append(results, r.results...)
	if over := len(r.results) - r.opts.MaxPending; over > 0 {
		r.results = r.results[over:]
		r.dropped.Add(float64(over))
	}
	r.heartbeats = append(heartbeats, r.heartbeats...)
	for i, id := range closed {
		minute := minutes[i].Bucket.Unix() / 60
		c := r.checks[id]
		if c == nil {
			c = &checkRecord{}
			r.checks[id] = c
		}
		c.at(minute).merge(minutes[i])
		r.counted(minute)
	}
	return true, err
}

func (r *Recorder) write(ctx context.Context, results []pendingResult, heartbeats []pendingHeartbeat, keys []status.CheckID, minutes []Rollup) error {
	if err := r.resolveIDs(ctx, results, heartbeats, keys); err != nil {
		return err
	}
	b := Batch{
		Results:    make([]ResultRow, len(results)),
		Heartbeats: make([]HeartbeatRow, len(heartbeats)),
		Minutes:    make([]Rollup, len(minutes)),
	}
	for i, p := range results {
		b.Results[i] = ResultRow{CheckID: r.ids[p.id], Result: p.res}
	}
	for i, p := range heartbeats {
		b.Heartbeats[i] = HeartbeatRow{CheckID: r.ids[p.id], Heartbeat: p.hb}
	}
	for i, m := range minutes {
		m.CheckID = r.ids[keys[i]]
		b.Minutes[i] = m
	}
	return r.store.Write(ctx, b)
}

// resolveIDs makes sure every check in a batch has its database id.
func (r *Recorder) resolveIDs(ctx context.Context, results []pendingResult, heartbeats []pendingHeartbeat, keys []status.CheckID) error {
	var missing []status.CheckID
	seen := map[status.CheckID]bool{}
	need := func(id status.CheckID) {
		if _, ok := r.ids[id]; !ok && !seen[id] {
			seen[id] = true
			missing = append(missing, id)
		}
	}
	for _, p := range results {
		need(p.id)
	}
	for _, p := range heartbeats {
		need(p.id)
	}
	for _, id := range keys {
		need(id)
	}
	if len(missing) == 0 {
		return nil
	}
	ids, err := r.store.EnsureChecks(ctx, missing, r.now())
	if err != nil {
		return err
	}
	for id, n := range ids {
		r.ids[id] = n
	}
	return nil
}
