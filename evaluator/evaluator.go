package evaluator

import (
	"context"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// Options configure an Evaluator.
type Options struct {
	Logger *slog.Logger
	// Store keeps the state and receives the decisions.
	Store *store.Store
	// Ready is closed once the store is connected and migrated; nothing
	// is evaluated before (results wait). Nil means ready.
	Ready <-chan struct{}
	// Clock is the real clock when nil.
	Clock clockwork.Clock
	// ExternalURL is how users reach statusd, for links in messages.
	ExternalURL *url.URL
	// Registerer receives the evaluator's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// OnChange is called after a write that changed what the status page
	// shows (a service's status, an incident).
	OnChange func()
	// RefreshInterval is how often services, maintenance windows and
	// manual statuses are read from the store again (default 5s).
	RefreshInterval time.Duration
	// MaxBacklog bounds the results waiting to be evaluated; past it the
	// oldest are dropped and counted (default 100,000).
	MaxBacklog int
	// FlushInterval is how soon a check's changed state (its debounce
	// streaks) is stored (default 1s).
	FlushInterval time.Duration
	// Leads tells whether this process decides what replicas share: the
	// services' statuses (and with them automatic incidents and
	// service-change notifications), the checks' notifications and the
	// digests. A process that does not lead evaluates its checks and
	// follows the services as stored. Nil leads always (one process).
	Leads func() bool
	// Owns tells whether this process runs a check (replicas share them
	// out): it exports the check's evaluated level, so that each check
	// is exported once per cluster. Every process evaluates every check,
	// its own results and those its replicas share. Nil owns every check.
	Owns func(id status.CheckID, at time.Time) bool
	// Decided is called after each write of decisions that appended
	// notifications to the outbox, with those rows, e.g. to wake the
	// notifier; it must not block.
	Decided func(rows []store.OutboxRow)
}

// Evaluator receives check results (Observe) and turns them into
// evaluated levels, service statuses, incidents and notifications.
type Evaluator struct {
	opts   Options
	logger *slog.Logger
	store  *store.Store
	clock  clockwork.Clock

	// mu guards the plan and the states in it: the loop and Apply.
	mu   sync.Mutex
	plan *plan
	// loaded is set once the persisted state is in the plan.
	loaded bool
	// led tells whether this process led at its last decision (under
	// mu): when it comes to lead, it first reads what the receivers were
	// told by the one that led before.
	led bool
	// maybeDirty is set when a state may have changed since it was last
	// stored (under mu); anyDirty clears it.
	maybeDirty bool
	// pending are writes that failed, retried in order before new ones.
	pending []job
	levels  []status.Level // scratch for service statuses

	qmu     sync.Mutex
	queue   []observed
	spare   []observed
	wake    chan struct{}
	metrics *metrics
	// replanned is told when Apply changed the digest schedule.
	replanned chan struct{}

	// umu guards unwritten: the services' statuses decided and not
	// written yet (the database is away), which the page shows meanwhile.
	umu       sync.Mutex
	unwritten map[string]ServiceState
	// windowsTold are the maintenance windows' news this process told
	// subscribers, by id/what, with when (under mu).
	windowsTold map[string]time.Time
}

// ServiceState is a service's status as the evaluator decided it.
type ServiceState struct {
	Status      status.ServiceStatus
	Maintenance bool
	// Since is when it was decided.
	Since time.Time
}

// Unwritten returns the services' statuses decided and not yet written
// to the database, by name: while the database is away the page, the
// summary and the metrics follow the checks with them, until the writes
// catch up.
func (e *Evaluator) Unwritten() map[string]ServiceState {
	e.umu.Lock()
	defer e.umu.Unlock()
	if len(e.unwritten) == 0 {
		return nil
	}
	return maps.Clone(e.unwritten)
}

// decided takes a job's service changes as the services' statuses from
// now on, before they are written: the decisions that follow compare with
// them, so that a recovery while the database is away is decided (and
// written, in order, when it returns) instead of lost.
func (e *Evaluator) decided(j job) {
	if len(j.services) == 0 {
		return
	}
	e.umu.Lock()
	if e.unwritten == nil {
		e.unwritten = map[string]ServiceState{}
	}
	for _, w := range j.services {
		w.s.status, w.s.maintenance = w.to, w.maintenance
		e.unwritten[w.s.name] = ServiceState{Status: w.to, Maintenance: w.maintenance, Since: j.at}
	}
	e.umu.Unlock()
	e.changed()
}

// written forgets the unwritten statuses a committed job wrote, unless a
// later decision about the service waits.
func (e *Evaluator) written(j job) {
	if len(j.services) == 0 {
		return
	}
	e.umu.Lock()
	defer e.umu.Unlock()
	for _, w := range j.services {
		if u, ok := e.unwritten[w.s.name]; ok && !u.Since.After(j.at) {
			delete(e.unwritten, w.s.name)
		}
	}
}

type observed struct {
	id  status.CheckID
	res status.Result
}

// New returns an evaluator with no checks; Apply gives it a config.
func New(opts Options) *Evaluator {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.RefreshInterval == 0 {
		opts.RefreshInterval = 5 * time.Second
	}
	if opts.MaxBacklog == 0 {
		opts.MaxBacklog = 100_000
	}
	if opts.FlushInterval == 0 {
		opts.FlushInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Leads == nil {
		opts.Leads = func() bool { return true }
	}
	if opts.Owns == nil {
		opts.Owns = func(status.CheckID, time.Time) bool { return true }
	}
	e := &Evaluator{
		opts:   opts,
		logger: opts.Logger,
		store:  opts.Store,
		clock:  opts.Clock,
		plan:   newPlan(&config.Config{}, nil, nil),
		wake:   make(chan struct{}, 1),

		replanned:   make(chan struct{}, 1),
		windowsTold: map[string]time.Time{},
	}
	e.metrics = newMetrics(e)
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(e.metrics.collectors()...)
	}
	return e
}

// Apply makes a config the evaluator's: checks and services that stay
// keep their state.
func (e *Evaluator) Apply(cfg *config.Config) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.plan = newPlan(cfg, e.opts.ExternalURL, e.plan)
	e.maybeDirty = true // states kept from the old plan may be
	e.metrics.setPlan(e.plan)
	select {
	case e.replanned <- struct{}{}:
	default:
	}
}

// Observe receives a result, in the check's goroutine: it queues it and
// returns at once.
func (e *Evaluator) Observe(id status.CheckID, res status.Result) {
	e.qmu.Lock()
	if len(e.queue) >= e.opts.MaxBacklog {
		drop := len(e.queue) - e.opts.MaxBacklog + 1
		e.queue = append(e.queue[:0], e.queue[drop:]...)
		e.metrics.dropped.Add(float64(drop))
	}
	e.queue = append(e.queue, observed{id, res})
	e.qmu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// backlog is how many results wait.
func (e *Evaluator) backlog() int {
	e.qmu.Lock()
	defer e.qmu.Unlock()
	return len(e.queue)
}

// Run evaluates the results it receives until ctx ends, then stores the
// states. It waits for the store first, and loads what was persisted.
func (e *Evaluator) Run(ctx context.Context) {
	if e.opts.Ready != nil {
		select {
		case <-e.opts.Ready:
		case <-ctx.Done():
			return
		}
	}
	if !e.load(ctx) {
		return
	}
	digestsDone := make(chan struct{})
	go func() {
		defer close(digestsDone)
		e.runDigests(ctx)
	}()
	defer func() { <-digestsDone }()
	tick := e.clock.NewTicker(e.opts.RefreshInterval)
	defer tick.Stop()
	// Streaks that changed are stored within FlushInterval, so that a
	// crash (kill -9) loses at most that much of them; a check steady at
	// its level changes nothing to store.
	var flush clockwork.Timer
	var flushDue <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			if flush != nil {
				flush.Stop()
			}
			e.mu.Lock()
			defer e.mu.Unlock()
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			e.flush(fctx)
			return
		case <-tick.Chan():
			e.Refresh(ctx)
		case <-e.wake:
			e.drain(ctx)
		case <-flushDue:
			flush, flushDue = nil, nil
			e.Flush(ctx)
		}
		if flushDue == nil && e.anyDirty() {
			flush = e.clock.NewTimer(e.opts.FlushInterval)
			flushDue = flush.Chan()
		}
	}
}

// anyDirty tells whether a state changed since it was last stored. It
// looks only when one may have (maybeDirty), not at every result of
// tens of thousands of checks.
func (e *Evaluator) anyDirty() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.maybeDirty {
		return false
	}
	e.maybeDirty = slices.ContainsFunc(e.plan.order, func(c *checkEntry) bool { return c.dirty })
	return e.maybeDirty
}

// runDigests writes the digests at each slot of the schedule.
func (e *Evaluator) runDigests(ctx context.Context) {
	for {
		e.mu.Lock()
		now := e.clock.Now()
		slot, scheduled := e.plan.digest.Next(now)
		e.mu.Unlock()
		var fire <-chan time.Time
		var timer clockwork.Timer
		if scheduled {
			timer = e.clock.NewTimer(slot.Sub(now))
			fire = timer.Chan()
		}
		stop := func() {
			if timer != nil {
				timer.Stop()
			}
		}
		select {
		case <-ctx.Done():
			stop()
			return
		case <-e.replanned:
			stop()
			continue
		case <-fire:
		}
		if !e.opts.Leads() {
			continue // the leader writes them
		}
		msgs, repeated, err := e.Digest(ctx, slot)
		if err != nil {
			e.logger.Warn("Cannot write the digests", "slot", slot, "err", err)
			continue
		}
		e.logger.Info("Digests written", "slot", slot, "receivers", len(msgs), "repeats", len(repeated))
	}
}

// Evaluate evaluates the queued results now, for one-shot use such as
// `statusd notify instant`; Run does it as they come.
func (e *Evaluator) Evaluate(ctx context.Context) { e.drain(ctx) }

// Flush stores the states that changed, for one-shot use; Run does it at
// the end.
func (e *Evaluator) Flush(ctx context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.flush(ctx)
}

// drain evaluates the queued results now; Run does it as they come.
func (e *Evaluator) drain(ctx context.Context) {
	// Two buffers swap: the queue fills one while the other is evaluated,
	// so that the steady state allocates nothing.
	e.qmu.Lock()
	batch := e.queue
	e.queue, e.spare = e.spare[:0], nil
	e.qmu.Unlock()
	e.mu.Lock()
	for _, o := range batch {
		e.process(ctx, o.id, o.res)
	}
	e.mu.Unlock()
	clear(batch)
	e.qmu.Lock()
	e.spare = batch[:0]
	e.qmu.Unlock()
}

// load reads the persisted state, retrying while the store fails; false
// when ctx ended first.
func (e *Evaluator) load(ctx context.Context) bool {
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		err := e.Load(ctx)
		if err == nil {
			return true
		}
		e.logger.Warn("Cannot read the evaluator's state; retrying", "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-e.clock.After(wait):
		}
	}
}

// Load reads the persisted states of the checks and their receivers and
// writes the config's groups and services to the store.
func (e *Evaluator) Load(ctx context.Context) error {
	st, err := e.store.LoadEvaluatorState(ctx)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, cs := range st.Checks {
		c := e.plan.checks[id]
		if c == nil {
			continue
		}
		c.state.Check = CheckState{
			Level: cs.Level, Since: cs.Since,
			AtLeast: [3]int32{0, int32(cs.AtLeastWarning), int32(cs.AtLeastProblem)},
			AtMost:  [3]int32{int32(cs.AtMostFine), int32(cs.AtMostWarning), 0},
		}
		c.level.Store(int32(cs.Level))
	}
	for id, byReceiver := range st.Receivers {
		c := e.plan.checks[id]
		if c == nil {
			continue
		}
		for i, r := range c.receivers {
			if rs, ok := byReceiver[r]; ok {
				c.state.Receivers[i] = fromStored(rs)
			}
		}
	}
	// The latest results give digests their messages before checks run.
	latest, err := e.store.LatestResults(ctx)
	if err != nil {
		return err
	}
	for id, res := range latest {
		if c := e.plan.checks[id]; c != nil && !c.seen {
			c.last = res
		}
	}
	e.loaded = true
	e.led = e.opts.Leads()
	if err := e.syncConfig(ctx); err != nil {
		return err
	}
	e.refresh(ctx)
	return nil
}

// Sync writes the config's groups and services to the store, e.g. after
// a reload.
func (e *Evaluator) Sync(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.loaded {
		return nil // done at load
	}
	return e.syncConfig(ctx)
}

func (e *Evaluator) syncConfig(ctx context.Context) error {
	if err := e.store.SyncConfig(ctx, e.plan.groupSpecs, e.plan.serviceSpecs, e.clock.Now()); err != nil {
		return err
	}
	e.changed()
	return nil
}

// Refresh reads what others may have changed in the store (services, the
// operator's statuses, maintenance windows) and applies it: a service
// whose status or maintenance flag is not what its checks and windows say
// is corrected. It also retries failed writes.
func (e *Evaluator) Refresh(ctx context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.loaded {
		return
	}
	e.refresh(ctx)
}

func (e *Evaluator) refresh(ctx context.Context) {
	e.retry(ctx)
	now := e.clock.Now()
	rows, err := e.store.Services(ctx)
	if err != nil {
		e.logger.Debug("Cannot read services", "err", err)
		return
	}
	windows, err := e.store.Maintenances(ctx, now)
	if err != nil {
		e.logger.Debug("Cannot read maintenance windows", "err", err)
		return
	}
	alerts, err := e.store.AlertStatuses(ctx)
	if err != nil {
		e.logger.Debug("Cannot read alerts", "err", err)
		return
	}
	periods, err := e.store.DowntimePeriods(ctx, now)
	if err != nil {
		e.logger.Debug("Cannot read downtime periods", "err", err)
		return
	}
	inMaintenance := map[string]bool{}
	for _, m := range windows {
		if m.Active(now) {
			for _, s := range m.Services {
				inMaintenance[s] = true
			}
		}
	}
	// A downtime period puts its services in maintenance, every service
	// when it names none.
	allDown := false
	for _, p := range periods {
		if p.Active(now) {
			allDown = allDown || len(p.Services) == 0
			for _, s := range p.Services {
				inMaintenance[s] = true
			}
		}
	}
	if allDown {
		for _, r := range rows {
			inMaintenance[r.Name] = true
		}
	}

	e.umu.Lock()
	unwritten := maps.Clone(e.unwritten)
	e.umu.Unlock()
	leads := e.leads(ctx)
	if leads {
		e.announceWindows(ctx, windows, now)
	}
	for _, r := range rows {
		s := e.plan.services[r.Name]
		if s == nil {
			continue
		}
		if _, waits := unwritten[r.Name]; waits {
			continue // the store is behind the evaluator's decision
		}
		s.status, s.manual, s.maintenance, s.known = status.ServiceStatus(r.Status), r.Manual(), r.Maintenance, true
		s.alert = alerts[r.Name]
		if !leads {
			continue // the leader decides; this one follows what it wrote
		}
		want := s.computed(e.levels)
		switch {
		case want != s.status:
			cause := store.CauseChecks
			switch {
			case s.manual != nil:
				cause = store.CauseManual
			case s.alert != status.Operational && want == s.alert:
				cause = store.CauseAlert
			}
			e.write(ctx, e.newServiceJob(s, want, inMaintenance[s.name], cause, now))
		case inMaintenance[s.name] != s.maintenance:
			e.write(ctx, e.newServiceJob(s, want, inMaintenance[s.name], store.CauseMaintenance, now))
		}
	}
}

// process evaluates one result.
func (e *Evaluator) process(ctx context.Context, id status.CheckID, res status.Result) {
	e.metrics.results.Inc()
	c := e.plan.checks[id]
	if c == nil {
		return // removed by a reload
	}
	rule := c.rule
	rule.Muted = c.muted()
	now := e.clock.Now()
	prev := c.state
	next, events := Next(prev, res, rule, now)
	leads := e.leads(ctx)
	if !leads {
		// The leader tells the receivers and stores the states; this one
		// keeps what they were told as it was, and reads it again when
		// it comes to lead.
		next.Receivers = prev.Receivers
		events = nil
	}
	c.state, c.last, c.seen = next, res, true
	if !c.dirty && storedState(prev.Check, rule) != storedState(next.Check, rule) {
		c.dirty, e.maybeDirty = true, true
	}
	c.level.Store(int32(next.Check.Level))
	if len(events) == 0 {
		return
	}
	e.write(ctx, e.newCheckJob(c, prev, events, rule.Muted, now))
}

// leads tells whether this process decides now (under mu). When it has
// just come to lead, it first reads what each receiver was told, which
// the previous leader wrote, so that it neither repeats nor misses a
// notification (a recovery of an outage the other one told); until that
// read succeeds it does not decide.
func (e *Evaluator) leads(ctx context.Context) bool {
	leads := e.opts.Leads()
	if leads && !e.led {
		if err := e.reloadReceivers(ctx); err != nil {
			e.logger.Warn("Cannot read what the receivers were told; deciding once it can", "err", err)
			return false
		}
	}
	e.led = leads
	return leads
}

// reloadReceivers reads what each receiver was told about each check.
func (e *Evaluator) reloadReceivers(ctx context.Context) error {
	st, err := e.store.LoadEvaluatorState(ctx)
	if err != nil {
		return err
	}
	for _, c := range e.plan.checks {
		byReceiver := st.Receivers[c.id]
		for i, r := range c.receivers {
			rs, ok := byReceiver[r]
			if !ok {
				rs = store.ReceiverState{}
			}
			c.state.Receivers[i] = fromStored(rs)
		}
	}
	return nil
}

// write runs a job, or keeps it to retry when the store fails; jobs run
// in order.
func (e *Evaluator) write(ctx context.Context, j job) {
	e.decided(j)
	if len(e.pending) > 0 {
		e.pending = append(e.pending, j)
		e.metrics.pendingWrites.Store(int64(len(e.pending)))
		e.retry(ctx)
		return
	}
	rows, err := e.run(ctx, j)
	if err != nil {
		e.pending = append(e.pending, j)
		e.metrics.pendingWrites.Store(int64(len(e.pending)))
		e.metrics.writeFailures.Inc()
		e.logger.Warn("Cannot write decisions; keeping them to retry", "what", j.what, "err", err)
	}
	e.tell(rows)
}

// retry runs the kept jobs, in order, until one fails. What they append
// to the outbox is told once they are all written, so that the notifier
// composes what waited together.
func (e *Evaluator) retry(ctx context.Context) {
	var all []store.OutboxRow
	defer func() { e.tell(all) }()
	for len(e.pending) > 0 {
		rows, err := e.run(ctx, e.pending[0])
		if err != nil {
			e.metrics.writeFailures.Inc()
			return
		}
		all = append(all, rows...)
		e.pending[0] = job{}
		e.pending = e.pending[1:]
		e.metrics.pendingWrites.Store(int64(len(e.pending)))
	}
}

// run writes a job; it returns the notifications it appended.
func (e *Evaluator) run(ctx context.Context, j job) ([]store.OutboxRow, error) {
	written := e.clock.Now()
	rows, err := e.updateQuietly(ctx, func(tx *store.Tx) error { return j.write(tx, written) })
	if err != nil {
		return nil, err
	}
	e.written(j)
	if j.apply() {
		e.changed()
	}
	return rows, nil
}

// update runs writes in one transaction and, once committed, tells
// Decided about the notifications they appended.
func (e *Evaluator) update(ctx context.Context, fn func(*store.Tx) error) error {
	rows, err := e.updateQuietly(ctx, fn)
	e.tell(rows)
	return err
}

// updateQuietly runs writes in one transaction and returns the
// notifications they appended, for the caller to tell.
func (e *Evaluator) updateQuietly(ctx context.Context, fn func(*store.Tx) error) ([]store.OutboxRow, error) {
	var rows []store.OutboxRow
	err := e.store.Update(ctx, func(tx *store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		rows = tx.Enqueued()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// tell hands appended notifications to Decided.
func (e *Evaluator) tell(rows []store.OutboxRow) {
	if len(rows) > 0 && e.opts.Decided != nil {
		e.opts.Decided(rows)
	}
}

// flush stores every state that changed since it was last stored (the
// debounce streaks change with every result), so that a restart goes on
// counting.
//
// Among replicas the leader does: every member evaluates every check from
// the same results, so the leader's states are everyone's, and one
// writer instead of one per member keeps the writes from growing with
// the members (and from contending for the same rows).
func (e *Evaluator) flush(ctx context.Context) {
	if !e.loaded || !e.led {
		return
	}
	e.retry(ctx)
	if len(e.pending) > 0 {
		return // the database is away; the states are written with the decisions
	}
	now := e.clock.Now()
	var dirty []*checkEntry
	for _, c := range e.plan.order {
		if c.dirty {
			dirty = append(dirty, c)
		}
	}
	if len(dirty) == 0 {
		return
	}
	err := e.store.Update(ctx, func(tx *store.Tx) error {
		for _, c := range dirty {
			if err := saveState(tx, c, now, e.led); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.logger.Warn("Cannot store the evaluator's state", "err", err)
		return
	}
	for _, c := range dirty {
		c.dirty = false
	}
}

// saveState stores a check's state and its receivers'.
func saveState(tx *store.Tx, c *checkEntry, now time.Time, receivers bool) error {
	if err := tx.SaveCheckState(c.id, storedState(c.state.Check, c.rule), now); err != nil {
		return err
	}
	if !receivers {
		return nil // the leader's to save
	}
	for i, r := range c.receivers {
		if r == "" {
			continue // saved by its caller
		}
		if err := tx.SaveReceiverState(c.id, r, toStored(c.state.Receivers[i])); err != nil {
			return err
		}
	}
	return nil
}

// storedState is a check's state as it is stored: its streaks capped at
// the thresholds they are compared with, which is all they decide, so
// that a check steady at its level has nothing new to store.
func storedState(cs CheckState, rule Rule) store.CheckState {
	f, s := int32(max(rule.FailureThreshold, 1)), int32(max(rule.SuccessThreshold, 1))
	return store.CheckState{
		Level: cs.Level, Since: cs.Since,
		AtLeastWarning: int(min(cs.AtLeast[status.Warning], f)), AtLeastProblem: int(min(cs.AtLeast[status.Problem], f)),
		AtMostFine: int(min(cs.AtMost[status.Fine], s)), AtMostWarning: int(min(cs.AtMost[status.Warning], s)),
	}
}

func (e *Evaluator) changed() {
	if e.opts.OnChange != nil {
		e.opts.OnChange()
	}
}

func fromStored(r store.ReceiverState) ReceiverState {
	return ReceiverState{Level: r.Level, At: r.At, Episode: r.Episode, Sent: r.Sent, Suppressed: r.Suppressed}
}

func toStored(r ReceiverState) store.ReceiverState {
	return store.ReceiverState{Level: r.Level, At: r.At, Episode: r.Episode, Sent: r.Sent, Suppressed: r.Suppressed}
}
