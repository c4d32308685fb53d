// Package cluster keeps this statusd's membership of the cluster of
// statusd processes sharing one database: it registers the process, with
// its address, location and version, and renews its lease every few
// seconds; a member whose lease lapsed is gone. The checks are shared out
// among the members by rendezvous hashing (see Owner), and their owners
// share the latest results (Sharing). With each renewal it also takes or
// renews the leader's lease: one member at a time leads, and decides what
// is shared (the services' statuses, automatic incidents, the
// notifications). Each renewal reads back who else is there and who
// leads, which the API, the metrics and `statusd cluster status` show.
//
// On SQLite the cluster is this one process (the store locks its file):
// see Options.Alone.
package cluster

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/internal/status"
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
	// joinGrace, in leases: a member takes its share of the checks
	// that long after it joined.
	joinGrace = 2 // halves of a lease
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
//
// Checks are shared out by rendezvous (highest random weight) hashing of
// the check's id over the members rather than by a lease per check:
// every member computes the same owner from the same list of members,
// so sharing costs no statement per check (membership is one
// transaction per member every lease/3 whatever the number of checks),
// and when a member comes or goes only the checks it gains or loses
// move. A member joining takes its share only after joinGrace, by which
// time every other member has read it (they renew every lease/3), so
// that the old and the new owner of a check agree on the moment it
// moves; since a check's runs fall on the same phase of its interval
// on every member (the exporter's scheduler), it then runs once per
// interval across the handover.
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
		Help: "Whether this member leads the cluster (1): it decides the services' statuses, incidents and notifications.",
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

// Settle makes this member decide without the database, which is away:
// until it renews once, it runs every check (better twice than not at
// all) and does not lead.
func (m *Membership) Settle() { m.settle() }

// Owns tells whether this member runs a check at a moment (a slot of
// the check, the same on every member, so that they agree on the moment
// it changes hands): alone, or before it ever read the members, it runs
// every check it may run; otherwise those it owns (see Owner). A check
// with locations runs once in each: on the owner among the members of
// each location listed, and never on a member elsewhere.
func (m *Membership) Owns(id status.CheckID, locations []string, at time.Time) bool {
	if m.opts.Alone {
		return true
	}
	self := m.opts.Self
	in := func(store.Member) bool { return true }
	if len(locations) > 0 {
		if !slices.Contains(locations, self.Location) {
			return false
		}
		in = func(mem store.Member) bool { return mem.Location == self.Location }
	}
	owner, known := m.owner(id, at, in)
	return !known || owner == self.ID
}

// Reports tells whether this member exports what is decided of a check
// with locations (its evaluated level): the owner among the members of
// all its locations, so that one member in the cluster does. For a check
// without locations it is Owns.
func (m *Membership) Reports(id status.CheckID, locations []string, at time.Time) bool {
	if m.opts.Alone || len(locations) == 0 {
		return m.Owns(id, locations, at)
	}
	owner, known := m.owner(id, at, func(mem store.Member) bool { return slices.Contains(locations, mem.Location) })
	return known && owner == m.opts.Self.ID
}

// Owner returns the member that runs a check without locations at a
// moment; known is false before this member read the members.
func (m *Membership) Owner(id status.CheckID, at time.Time) (owner string, known bool) {
	if m.opts.Alone {
		return m.opts.Self.ID, true
	}
	return m.owner(id, at, func(store.Member) bool { return true })
}

// owner returns the member that runs a check at a moment among the
// members in, by rendezvous hashing over those that joined at least
// joinGrace before it (or, when none did, those that joined first:
// members starting together leave the checks to the first until they
// all count). While the database does not answer, the last members read
// stand. known is false before this member read the members; owner is
// empty when none is in.
func (m *Membership) owner(id status.CheckID, at time.Time, in func(store.Member) bool) (owner string, known bool) {
	m.mu.Lock()
	all := m.view.Members
	m.mu.Unlock()
	if len(all) == 0 {
		return "", false
	}
	var first time.Time
	for _, mem := range all {
		if in(mem) && (first.IsZero() || mem.JoinedAt.Before(first)) {
			first = mem.JoinedAt
		}
	}
	joined := at.Add(-m.opts.Lease * joinGrace / 2)
	if first.After(joined) {
		joined = first
	}
	var best uint64
	for _, mem := range all {
		if !in(mem) || mem.JoinedAt.After(joined) {
			continue
		}
		if w := weight(mem.ID, id); owner == "" || w > best {
			owner, best = mem.ID, w
		}
	}
	return owner, true
}

// weight is a member's rendezvous weight for a check: FNV-1a of both ids,
// then SplitMix64's finaliser, so that ids that differ in their last
// bytes still spread evenly. FNV-1a is written out rather than taken
// from hash/fnv, whose hasher escapes to the heap: an allocation per
// member per check, 27,000 of them per renewal at 9,000 checks and three
// members (a tenth of a member's CPU in the 9,000-check benchmark).
func weight(member string, id status.CheckID) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for _, s := range [...]string{member, "\x00", id.Resource, "/", id.Check} {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
	}
	x := h
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
