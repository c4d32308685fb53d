// Package cluster keeps this statusd's membership of the cluster of
// statusd processes sharing one database: it registers the process, with
// its address, location and version, and renews its lease every few
// seconds; a member whose lease lapsed is gone. With each renewal it also
// takes or renews the leader's lease: one member at a time leads, and
// decides what is shared (the services' statuses, automatic incidents,
// the notifications, the checks' history). Each renewal reads back who else is
// there and who leads, which the API, the metrics and `statusd cluster
// status` show.
//
// On SQLite the cluster is this one process (the store locks its file):
// see Options.Alone.
package cluster

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/internal/store"
)

// Defaults of Options.
const (
	// DefaultLease is how long a member is taken to live after its last
	// renewal.
	DefaultLease = 6 * time.Second
	// renewalsPerLease: a lease is renewed three times within its term,
	// so that one slow or failed renewal does not let it lapse.
	renewalsPerLease = 3
	// LeaderLease names the leader's lease.
	LeaderLease = "leader"
	// aloneLease is the lease of a member that is alone: nobody takes
	// over from it, so a renewal every 20 s keeps `statusd cluster
	// status` true for a write every 20 s instead of every 2.
	aloneLease = time.Minute
)

// Store is what membership needs of the database.
type Store interface {
	Renew(ctx context.Context, m store.Member, lease string, now time.Time, ttl time.Duration) ([]store.Member, store.Lease, error)
	Leave(ctx context.Context, id string) error
}

// Options configure a Membership.
type Options struct {
	Store Store
	// Self is this process as it registers: ID, Address, Location,
	// Version and StartedAt (the time is taken when zero).
	Self store.Member
	// Lease is how long a member lives after its last renewal
	// (DefaultLease when zero); it renews every third of it.
	Lease time.Duration
	// Checks counts the checks this member runs, written with each
	// renewal.
	Checks func() int
	// Ready is closed once the database is migrated: renewals start
	// then.
	Ready <-chan struct{}
	// Alone is set when this process is the only one on its database
	// (SQLite, whose file the store locks): it leads from the start,
	// whatever its renewals do, takes no leader's lease, and its own
	// lease is a minute whatever Lease says.
	Alone      bool
	Clock      clockwork.Clock
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Membership is this process's place in the cluster.
type Membership struct {
	opts Options

	mu   sync.Mutex
	view View
	// leadsUntil is when the leader's lease this member held at its last
	// renewal ends (zero when another held it); renewedOK tells whether
	// that renewal was the last attempt.
	leadsUntil time.Time
	renewedOK  bool
	// settled is closed after the first renewal attempt.
	settled     chan struct{}
	settledOnce sync.Once

	members  prometheus.GaugeFunc
	owned    prometheus.GaugeFunc
	leader   prometheus.GaugeFunc
	failures prometheus.Counter
}

// View is the cluster as this member last read it.
type View struct {
	// Self is this member's id.
	Self string `json:"self"`
	// Members are the live members, by id, as of At; empty before the
	// first renewal.
	Members []store.Member `json:"members"`
	// Leader is the member holding the leader's lease as of At.
	Leader string `json:"leader"`
	// At is when they were read; zero before the first renewal.
	At time.Time `json:"read_at"`
	// Current tells whether At is within a lease of now: when the
	// database has been away longer, Members is what was true then.
	Current bool `json:"current"`
}

// New returns the membership of the process opts.Self describes; Run
// registers it.
func New(opts Options) *Membership {
	switch {
	case opts.Alone:
		opts.Lease = aloneLease
	case opts.Lease <= 0:
		opts.Lease = DefaultLease
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Checks == nil {
		opts.Checks = func() int { return 0 }
	}
	if opts.Self.StartedAt.IsZero() {
		opts.Self.StartedAt = opts.Clock.Now()
	}
	m := &Membership{opts: opts, view: View{Self: opts.Self.ID}, settled: make(chan struct{})}
	if opts.Alone {
		m.view.Leader = opts.Self.ID
	}
	m.members = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "statusd_cluster_members",
		Help: "Live members of the cluster of statusd processes sharing this database, as this member last read them (0 before it registered).",
	}, func() float64 { return float64(len(m.View().Members)) })
	m.owned = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "statusd_cluster_checks_owned",
		Help: "Checks this member runs.",
	}, func() float64 { return float64(opts.Checks()) })
	m.leader = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "statusd_cluster_leader",
		Help: "Whether this member leads the cluster (1): it decides the services' statuses and incidents, sends the notifications and keeps the checks' history.",
	}, func() float64 {
		if m.Leads() {
			return 1
		}
		return 0
	})
	m.failures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "statusd_cluster_renewal_failures_total",
		Help: "Renewals of this member's lease that failed (the database did not answer).",
	})
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(m.members, m.owned, m.leader, m.failures)
	}
	return m
}

// View returns the cluster as this member last read it.
func (m *Membership) View() View {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.view
	v.Current = !v.At.IsZero() && m.opts.Clock.Since(v.At) < m.opts.Lease
	return v
}

// Leads tells whether this member decides what is shared: it held the
// leader's lease at its last renewal and the lease's term is not over.
// While the database does not answer, a member that led keeps leading:
// nobody can write meanwhile, and what it decides in memory (the page
// follows the checks) is written when the database returns. A member
// that never renewed does not lead.
func (m *Membership) Leads() bool {
	if m.opts.Alone {
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.leadsUntil.IsZero() {
		return false
	}
	return !m.renewedOK || m.opts.Clock.Now().Before(m.leadsUntil)
}

// Settled is closed once this member has tried to renew its lease once,
// successfully or not (alone: once the database is ready): from then on
// Leads answers for the cluster.
func (m *Membership) Settled() <-chan struct{} { return m.settled }

// Run registers this member once the database is ready and renews its
// lease until ctx ends; then it leaves the cluster, so that the others
// see it gone at once.
func (m *Membership) Run(ctx context.Context) {
	if m.opts.Ready != nil {
		select {
		case <-m.opts.Ready:
		case <-ctx.Done():
			return
		}
	}
	if m.opts.Alone {
		m.settle() // it leads whatever its renewals do
	}
	every := m.opts.Lease / renewalsPerLease
	tick := m.opts.Clock.NewTicker(every)
	defer tick.Stop()
	for {
		m.Renew(ctx)
		select {
		case <-ctx.Done():
			m.leave(context.WithoutCancel(ctx))
			return
		case <-tick.Chan():
		}
	}
}

// Renew renews this member's lease now and reads the members back.
func (m *Membership) Renew(ctx context.Context) {
	self := m.opts.Self
	self.Checks = m.opts.Checks()
	rctx, cancel := context.WithTimeout(ctx, m.opts.Lease/renewalsPerLease)
	defer cancel()
	now := m.opts.Clock.Now()
	lease := LeaderLease
	if m.opts.Alone {
		lease = "" // it leads, no lease needed
	}
	members, held, err := m.opts.Store.Renew(rctx, self, lease, now, m.opts.Lease)
	defer m.settle()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.renewedOK = err == nil
	if err != nil {
		m.failures.Inc()
		m.opts.Logger.Debug("Cannot renew this member's lease", "err", err)
		return
	}
	m.view.Members, m.view.At = members, now
	if m.opts.Alone {
		return
	}
	was := !m.leadsUntil.IsZero()
	m.view.Leader = held.Holder
	m.leadsUntil = time.Time{}
	if held.Holder == self.ID {
		m.leadsUntil = held.ExpiresAt
	}
	if leads := !m.leadsUntil.IsZero(); leads != was {
		m.opts.Logger.Info("Leadership changed", "leads", leads, "leader", held.Holder)
	}
}

// settle closes Settled, once.
func (m *Membership) settle() { m.settledOnce.Do(func() { close(m.settled) }) }

func (m *Membership) leave(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := m.opts.Store.Leave(ctx, m.opts.Self.ID); err != nil {
		m.opts.Logger.Debug("Cannot leave the cluster; the lease lapses instead", "err", err)
	}
}
