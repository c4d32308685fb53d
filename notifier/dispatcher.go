package notifier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/jpillora/backoff"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/store"
)

// Options configure a Dispatcher.
type Options struct {
	Store  *store.Store
	Logger *slog.Logger
	Clock  clockwork.Clock
	// Ready is closed once the store is connected and migrated; nil
	// means ready.
	Ready <-chan struct{}
	// Registerer receives the dispatcher's metrics; nil registers none.
	Registerer prometheus.Registerer
	// PollInterval is how often the outbox is read when nobody says there
	// is something new and nothing waits to come due (default 5s): rows
	// another process wrote (statusd service set). Rows this statusd's
	// evaluator writes wake it, and rows waiting for their group wait or
	// retry are delivered when they come due.
	PollInterval time.Duration
	// Lease is how long claimed rows are this dispatcher's (default 1m):
	// after a crash another takes them then, so that a crash between a
	// send and its record repeats at worst that message.
	Lease time.Duration
	// Concurrency bounds the receivers delivered to at once (default 8).
	Concurrency int
	// Owner names this dispatcher in claims (default host:pid).
	Owner string
}

// Subscribers builds the receiver of a visitor's subscription from the
// subscriber as stored now; false when the subscriber is gone (what it
// was not told is then not sent).
type Subscribers interface {
	Receiver(ctx context.Context, id int64) (Receiver, bool, error)
}

// Policy is how deliveries are paced; a config reload changes it.
type Policy struct {
	// GroupWait holds a receiver's first notification for others to join.
	GroupWait time.Duration
	// RetryMin and RetryMax bound the exponential backoff, with jitter.
	RetryMin, RetryMax time.Duration
	// GiveUpAfter is how long a notification is retried before it fails.
	GiveUpAfter time.Duration
}

// perReceiver bounds the rows claimed and grouped for one receiver at once.
const perReceiver = 200

// perRound bounds the receivers claimed in one round: an incident's news
// to 10,000 subscribers is 10,000 receivers, claimed a few hundred at a
// time so that each round ends well within its claims' lease.
const perRound = 256

// statsInterval is how often the outbox is counted when nothing was
// claimed: counting reads every pending row's index entry.
const statsInterval = 10 * time.Second

// Dispatcher delivers the outbox.
type Dispatcher struct {
	opts   Options
	logger *slog.Logger
	clock  clockwork.Clock
	wake   chan struct{}

	mu        sync.Mutex
	receivers map[string]Receiver
	policy    Policy
	// subscribers builds the receivers of visitors' subscriptions
	// (subscriber:ID) when their rows come due; nil: such rows fail.
	subscribers Subscribers

	sent, failed *prometheus.CounterVec
	pending      prometheus.Gauge
	// oldest is when the oldest pending notification was written, in
	// Unix nanoseconds (0: none); its age is computed when scraped.
	oldest  atomic.Int64
	statsAt time.Time // guarded by mu
	rounds  atomic.Int64
}

// New returns a dispatcher with no receivers; SetReceivers gives it some.
func New(opts Options) *Dispatcher {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 5 * time.Second
	}
	if opts.Lease == 0 {
		opts.Lease = time.Minute
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 8
	}
	if opts.Owner == "" {
		host, _ := os.Hostname()
		opts.Owner = host + ":" + strconv.Itoa(os.Getpid())
	}
	d := &Dispatcher{
		opts:      opts,
		logger:    opts.Logger,
		clock:     opts.Clock,
		wake:      make(chan struct{}, 1),
		receivers: map[string]Receiver{},
		policy:    Policy{GroupWait: 10 * time.Second, RetryMin: time.Second, RetryMax: 5 * time.Minute, GiveUpAfter: 24 * time.Hour},
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusd_notifications_sent_total",
			Help: "Notifications delivered, by receiver and kind (a grouped message counts each notification in it).",
		}, []string{"receiver", "kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusd_notifications_failed_total",
			Help: "Notifications given up on, by receiver and kind: rejected, or still failing after give_up_after.",
		}, []string{"receiver", "kind"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "statusd_notifications_pending",
			Help: "Notifications written to the outbox and not yet sent.",
		}),
	}
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "statusd_notifications_oldest_pending_age_seconds",
		Help: "Age of the oldest notification not yet sent, 0 when none waits.",
	}, func() float64 {
		at := d.oldest.Load()
		if at == 0 {
			return 0
		}
		return max(d.clock.Since(time.Unix(0, at)).Seconds(), 0)
	})
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(d.sent, d.failed, d.pending, age)
	}
	return d
}

// SetSubscribers gives the dispatcher the receivers of visitors'
// subscriptions, e.g. after a reload.
func (d *Dispatcher) SetSubscribers(s Subscribers) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.subscribers = s
}

// SetReceivers replaces the receivers and the pacing, e.g. after a reload.
// Rows for a receiver that no longer exists fail.
func (d *Dispatcher) SetReceivers(receivers []Receiver, p Policy) {
	m := make(map[string]Receiver, len(receivers))
	for _, r := range receivers {
		m[r.Name] = r
		for _, kind := range []message.Kind{message.Instant, message.Resolved, message.Digest, message.StatusChange} {
			d.sent.WithLabelValues(r.Name, string(kind))
			d.failed.WithLabelValues(r.Name, string(kind))
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.receivers, d.policy = m, p
}

// Wake asks for a round now, e.g. after decisions were written; it never
// blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends: a round when woken, and every poll
// interval (rows whose group wait or retry comes due).
func (d *Dispatcher) Run(ctx context.Context) {
	if d.opts.Ready != nil {
		select {
		case <-d.opts.Ready:
		case <-ctx.Done():
			return
		}
	}
	for {
		_, full, err := d.round(ctx, false)
		if err != nil && ctx.Err() == nil {
			d.logger.Debug("Cannot deliver notifications", "err", err)
		}
		if full && ctx.Err() == nil {
			// A receiver had more than a round takes: go on at once (an
			// outbox of 100,000 drains in minutes, not hours).
			continue
		}
		wait := d.opts.PollInterval
		if err != nil {
			// The database may be back in a moment.
			wait = min(wait, time.Second)
		} else if next, ok := d.nextDue(ctx); ok {
			wait = min(wait, max(next.Sub(d.clock.Now()), 0))
		}
		timer := d.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-d.wake:
		case <-timer.Chan():
		}
		timer.Stop()
	}
}

// nextDue is when the next waiting notification comes due.
func (d *Dispatcher) nextDue(ctx context.Context) (time.Time, bool) {
	d.mu.Lock()
	wait := d.policy.GroupWait
	d.mu.Unlock()
	next, ok, err := d.opts.Store.NextDue(ctx, d.clock.Now(), wait)
	if err != nil {
		return time.Time{}, false
	}
	return next, ok
}

// Round claims what is due and delivers it; flush ignores the group
// wait (the command line delivers at once). It returns how many
// notifications were delivered.
func (d *Dispatcher) Round(ctx context.Context, flush bool) (int, error) {
	n, _, err := d.round(ctx, flush)
	return n, err
}

// round is Round, and tells whether a receiver had as many rows due as
// one round takes, all delivered: more may be due.
func (d *Dispatcher) round(ctx context.Context, flush bool) (int, bool, error) {
	d.rounds.Add(1)
	d.mu.Lock()
	policy, receivers, subscribers := d.policy, d.receivers, d.subscribers
	d.mu.Unlock()
	now := d.clock.Now()
	wait := policy.GroupWait
	if flush {
		wait = 0
	}
	claims, err := d.opts.Store.Claim(ctx, store.ClaimOptions{Now: now, Owner: d.opts.Owner, Lease: d.opts.Lease, GroupWait: wait,
		PerReceiver: perReceiver, MaxReceivers: perRound})
	if err != nil {
		return 0, false, err
	}
	var delivered atomic.Int64
	var full atomic.Bool
	var wg sync.WaitGroup
	sem := make(chan struct{}, d.opts.Concurrency)
	for name, rows := range claims {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r := receivers[name]
			if id, ok := store.SubscriberID(name); ok && subscribers != nil {
				var n int
				if r, n = d.subscriber(ctx, subscribers, id, rows, policy); r.Name == "" {
					delivered.Add(int64(n))
					return
				}
			}
			n := d.deliver(ctx, name, r, rows, policy)
			delivered.Add(int64(n))
			if len(rows) == perReceiver && n == len(rows) {
				full.Store(true)
			}
		})
	}
	wg.Wait()
	if len(claims) == perRound {
		full.Store(true)
	}
	d.refreshStats(ctx, len(claims) > 0 || flush)
	return int(delivered.Load()), full.Load(), nil
}

// refreshStats counts the outbox for the pending gauges: after a round
// that changed it, and every statsInterval (rows the evaluator wrote).
func (d *Dispatcher) refreshStats(ctx context.Context, changed bool) {
	now := d.clock.Now()
	d.mu.Lock()
	due := changed || now.Sub(d.statsAt) >= statsInterval
	if due {
		d.statsAt = now
	}
	d.mu.Unlock()
	if !due {
		return
	}
	n, oldest, err := d.opts.Store.OutboxStats(ctx)
	if err != nil {
		d.logger.Debug("Cannot count the outbox", "err", err)
		return
	}
	if oldest.IsZero() {
		d.oldest.Store(0)
	} else {
		d.oldest.Store(oldest.UnixNano())
	}
	d.pending.Set(float64(n))
}

// deliver sends a receiver's claimed rows in order, composed into
// messages, and records each outcome; at the first failure it stops and
// gives the rest back, so that nothing overtakes it. It returns how many
// rows it settled (sent, or collapsed into nothing to tell).
func (d *Dispatcher) deliver(ctx context.Context, name string, r Receiver, rows []store.Claimed, policy Policy) int {
	now := d.clock.Now()
	if len(r.Integrations) == 0 {
		ids := idsOf(rows)
		d.settle(ctx, store.Settlement{IDs: ids, State: store.OutboxFailed, Attempted: true, Error: "no receiver " + name + " in the config"}, rows, now)
		return 0
	}
	delivered := 0
	groups := compose(rows, r)
	for i, g := range groups {
		if g.silent {
			d.settle(ctx, store.Settlement{IDs: idsOf(g.rows), State: store.OutboxCollapsed}, g.rows, now)
			delivered += len(g.rows)
			continue
		}
		st := d.attempt(ctx, r, g, policy)
		d.settle(ctx, st, g.rows, d.clock.Now())
		if st.State != store.OutboxSent {
			var rest []store.Claimed
			for _, later := range groups[i+1:] {
				rest = append(rest, later.rows...)
			}
			d.settle(ctx, store.Settlement{IDs: idsOf(rest), State: store.OutboxPending}, nil, now)
			return delivered
		}
		delivered += len(g.rows)
	}
	return delivered
}

// subscriber is the receiver of a subscriber's claimed rows, as it is
// stored now; when there is none (it left, or the database is away) it
// settles the rows itself and returns an unnamed receiver with how many
// it settled.
func (d *Dispatcher) subscriber(ctx context.Context, subs Subscribers, id int64, rows []store.Claimed, policy Policy) (Receiver, int) {
	now := d.clock.Now()
	r, found, err := subs.Receiver(ctx, id)
	switch {
	case err != nil:
		// The database is away: try again after the shortest retry.
		d.settle(ctx, store.Settlement{IDs: idsOf(rows), State: store.OutboxPending, NextAttempt: now.Add(policy.RetryMin)}, nil, now)
		return Receiver{}, 0
	case !found:
		// The subscriber left: nothing more is said to them.
		d.settle(ctx, store.Settlement{IDs: idsOf(rows), State: store.OutboxCollapsed}, rows, now)
		return Receiver{}, len(rows)
	}
	return r, 0
}

// attempt sends one message through the receiver's integrations that have
// not had it yet.
func (d *Dispatcher) attempt(ctx context.Context, r Receiver, g batch, policy Policy) store.Settlement {
	st := store.Settlement{IDs: idsOf(g.rows), Attempted: true, Delivered: g.delivered}
	var errs []error
	retryable := true
	var after time.Duration
	for _, in := range r.Integrations {
		if slices.Contains(st.Delivered, in.Name) {
			continue
		}
		retry, err := in.Notifier.Notify(ctx, g.msg)
		if err == nil {
			st.Delivered = append(st.Delivered, in.Name)
			continue
		}
		errs = append(errs, fmt.Errorf("%s: %w", in.Name, err))
		retryable = retryable && retry
		var ra *RetryAfter
		if errors.As(err, &ra) {
			after = max(after, ra.After)
		}
	}
	if len(errs) == 0 {
		st.State = store.OutboxSent
		return st
	}
	err := errors.Join(errs...)
	st.Error = err.Error()
	attempts := 0
	for _, row := range g.rows {
		attempts = max(attempts, row.Attempts)
	}
	giveUp := d.clock.Now().After(g.rows[0].CreatedAt.Add(policy.GiveUpAfter))
	switch {
	case !retryable:
		st.State = store.OutboxFailed
		d.logger.Warn("A notification was rejected; giving up", "receiver", r.Name, "kind", g.msg.Kind, "err", err)
	case giveUp:
		st.State = store.OutboxFailed
		st.Error = "gave up after " + policy.GiveUpAfter.String() + ": " + st.Error
		d.logger.Warn("A notification kept failing; giving up", "receiver", r.Name, "kind", g.msg.Kind, "attempts", attempts+1, "err", err)
	default:
		st.State = store.OutboxPending
		b := &backoff.Backoff{Min: policy.RetryMin, Max: policy.RetryMax, Factor: 2, Jitter: true}
		wait := max(b.ForAttempt(float64(attempts)), after)
		st.NextAttempt = d.clock.Now().Add(wait)
		d.logger.Info("A notification failed; retrying", "receiver", r.Name, "kind", g.msg.Kind, "attempt", attempts+1, "in", wait.Round(time.Millisecond), "err", err)
	}
	return st
}

// settle records an outcome; the counters follow what the database says.
func (d *Dispatcher) settle(ctx context.Context, st store.Settlement, rows []store.Claimed, now time.Time) {
	if len(st.IDs) == 0 {
		return
	}
	// The record outlives a cancelled round: a message sent must be
	// marked sent.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := d.opts.Store.Settle(sctx, st, now); err != nil {
		d.logger.Warn("Cannot record the delivery of notifications; their claim runs out and they are sent again", "err", err)
		return
	}
	var counter *prometheus.CounterVec
	switch st.State {
	case store.OutboxSent:
		counter = d.sent
	case store.OutboxFailed:
		counter = d.failed
	default:
		return
	}
	for _, r := range rows {
		counter.WithLabelValues(receiverLabel(r.Receiver), r.Kind).Inc()
	}
}

// receiverLabel is a receiver's metrics label: subscribers are counted
// together, so that the series stay as many as the config's receivers.
func receiverLabel(name string) string {
	if _, ok := store.SubscriberID(name); ok {
		return "subscribers"
	}
	return name
}

func idsOf(rows []store.Claimed) []int64 {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}
