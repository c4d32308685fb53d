package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// A renewal registers the member with its checks; its view is current
// for one lease, and a failed renewal keeps the last view, counted.
func TestRenewAndView(t *testing.T) {
	st := openStore(t)
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	reg := prometheus.NewRegistry()
	m := New(Options{Store: st, Self: store.Member{ID: "a:9799", Address: "a:9799", Version: "test"},
		Checks: func() int { return 7 }, Clock: clock, Registerer: reg})
	if v := m.View(); v.Current || len(v.Members) != 0 || v.Self != "a:9799" || m.Leads() {
		t.Fatalf("before the first renewal: %+v, leads %v", v, m.Leads())
	}
	select {
	case <-m.Settled():
		t.Fatal("settled before the first renewal")
	default:
	}
	m.Renew(context.Background())
	<-m.Settled()
	v := m.View()
	if !v.Current || len(v.Members) != 1 || v.Members[0].Checks != 7 || v.Members[0].ID != "a:9799" || v.Leader != "a:9799" || !m.Leads() {
		t.Fatalf("after a renewal: %+v, leads %v", v, m.Leads())
	}
	if got := testutil.ToFloat64(m.members); got != 1 {
		t.Errorf("statusd_cluster_members %v, want 1", got)
	}
	clock.Advance(DefaultLease)
	if m.View().Current || m.Leads() {
		t.Errorf("a view a lease old is current, or its lease still leads")
	}
	m.Renew(context.Background())
	if !m.Leads() {
		t.Errorf("renewed, and does not lead")
	}
	// The database goes away: the last view stays, not current, and the
	// leader goes on deciding (nobody else can write meanwhile).
	st.Close()
	clock.Advance(DefaultLease)
	m.Renew(context.Background())
	if got := testutil.ToFloat64(m.failures); got != 1 {
		t.Errorf("failures %v, want 1", got)
	}
	if v := m.View(); len(v.Members) != 1 || v.Current {
		t.Errorf("after a failed renewal: %+v, want the last view, not current", v)
	}
	if !m.Leads() || testutil.ToFloat64(m.leader) != 1 {
		t.Errorf("the leader stopped leading while the database is away")
	}
}

// Run registers once the store is ready, renews every third of the lease
// and leaves when it stops.
func TestRunRenewsAndLeaves(t *testing.T) {
	st := openStore(t)
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	ready := make(chan struct{})
	m := New(Options{Store: st, Self: store.Member{ID: "a"}, Clock: clock, Ready: ready})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	close(ready)
	// The first renewal, then one per tick.
	for want := 1; want <= 3; want++ {
		at := clock.Now().UTC().Truncate(time.Microsecond)
		renewedAt := func() bool {
			members, err := st.Members(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return len(members) == 1 && members[0].RenewedAt.Equal(at)
		}
		for deadline := time.Now().Add(10 * time.Second); !renewedAt(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("renewal %d at %v never came", want, at)
			}
		}
		clock.Advance(DefaultLease / renewalsPerLease)
	}
	cancel()
	<-done
	if members, _ := st.Members(context.Background()); len(members) != 0 {
		t.Errorf("after Run ended: %+v, want no member", members)
	}
}

// Of two members, the first to renew leads; the other takes over when it
// leaves, at its next renewal.
func TestLeaderTakeover(t *testing.T) {
	st := openStore(t)
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	a := New(Options{Store: st, Self: store.Member{ID: "a"}, Clock: clock})
	b := New(Options{Store: st, Self: store.Member{ID: "b"}, Clock: clock})
	ctx := context.Background()
	a.Renew(ctx)
	b.Renew(ctx)
	if !a.Leads() || b.Leads() || b.View().Leader != "a" {
		t.Fatalf("a renewed first: a leads %v, b leads %v, b sees %q", a.Leads(), b.Leads(), b.View().Leader)
	}
	// a dies (no renewal): b takes over once a's term is over.
	clock.Advance(DefaultLease / 2)
	b.Renew(ctx)
	if b.Leads() {
		t.Fatalf("b took over within a's term")
	}
	clock.Advance(DefaultLease / 2)
	b.Renew(ctx)
	if !b.Leads() || b.View().Leader != "b" {
		t.Fatalf("b did not take over after a's term: %+v", b.View())
	}
	a.Renew(ctx)
	if a.Leads() {
		t.Errorf("a came back and leads beside b")
	}
	// b leaves: a takes over at its next renewal.
	b.leave(ctx)
	a.Renew(ctx)
	if !a.Leads() {
		t.Errorf("b left and a does not lead")
	}
}

// A member alone on its database (SQLite) leads from the start, even when
// its renewals fail, takes no leader's lease and renews once in 20 s.
func TestAlone(t *testing.T) {
	st := openStore(t)
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	ready := make(chan struct{})
	m := New(Options{Store: st, Self: store.Member{ID: "solo"}, Clock: clock, Ready: ready, Alone: true, Lease: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	select {
	case <-m.Settled():
		t.Fatal("settled before the database is ready")
	default:
	}
	close(ready)
	<-m.Settled()
	if !m.Leads() || m.View().Leader != "solo" {
		t.Errorf("alone and not leading: %+v", m.View())
	}
	var (
		members []store.Member
		err     error
	)
	for deadline := time.Now().Add(10 * time.Second); len(members) == 0 && err == nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first renewal never came")
		}
		members, err = st.Members(ctx)
	}
	if err != nil || len(members) != 1 || !members[0].ExpiresAt.Equal(members[0].RenewedAt.Add(aloneLease)) {
		t.Fatalf("registered as %+v (%v), want a lease of a minute", members, err)
	}
	if _, held, _ := st.Lease(ctx, LeaderLease); held {
		t.Errorf("alone, it took the leader's lease")
	}
	cancel()
	<-done
}

// membersView gives a membership a view without a database.
func membersView(self string, at time.Time, members ...store.Member) *Membership {
	m := New(Options{Self: store.Member{ID: self}, Clock: clockwork.NewFakeClockAt(at)})
	m.view.Members, m.view.At = members, at
	return m
}

// Rendezvous hashing shares 1,000 checks out among three members within
// ±10 % of a third each; when a fourth joins, only the checks it takes
// move, and when one leaves, only its checks.
func TestOwnerSharesEvenly(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	joined := t0.Add(-time.Hour)
	three := []store.Member{{ID: "statusd-0:9799", JoinedAt: joined}, {ID: "statusd-1:9799", JoinedAt: joined}, {ID: "statusd-2:9799", JoinedAt: joined}}
	m := membersView("statusd-0:9799", t0, three...)
	var ids []status.CheckID
	for i := range 1000 {
		ids = append(ids, status.CheckID{Resource: "health", Check: fmt.Sprintf("check-%d", i)})
	}
	owners := func(m *Membership) map[status.CheckID]string {
		o := map[status.CheckID]string{}
		for _, id := range ids {
			owner, known := m.Owner(id, t0)
			if !known {
				t.Fatal("owner unknown with members read")
			}
			o[id] = owner
		}
		return o
	}
	before := owners(m)
	count := map[string]int{}
	for _, o := range before {
		count[o]++
	}
	for _, mem := range three {
		if n := count[mem.ID]; n < 300 || n > 366 {
			t.Errorf("%s owns %d of 1000 checks, want 333 ± 10 %%", mem.ID, n)
		}
	}
	// A fourth joins: checks move only to it.
	four := append(slices.Clone(three), store.Member{ID: "statusd-3:9799", JoinedAt: joined})
	moved := 0
	for id, o := range owners(membersView("statusd-0:9799", t0, four...)) {
		if o != before[id] {
			moved++
			if o != "statusd-3:9799" {
				t.Errorf("%s moved from %s to %s, not to the member that joined", id, before[id], o)
			}
		}
	}
	if moved < 200 || moved > 300 {
		t.Errorf("%d checks moved to the fourth member, want about 250", moved)
	}
	// One leaves: only its checks move.
	for id, o := range owners(membersView("statusd-0:9799", t0, three[1:]...)) {
		if before[id] != "statusd-0:9799" && o != before[id] {
			t.Errorf("%s moved from %s to %s, though its owner stayed", id, before[id], o)
		}
	}
}

// A member that joins takes its share only after the grace, at the same
// moment for every member; members that start together leave the checks
// to the first until then; before it read the members, one runs all.
func TestOwnerAfterGrace(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	old := store.Member{ID: "a", JoinedAt: t0.Add(-time.Hour)}
	late := store.Member{ID: "b", JoinedAt: t0}
	a, b := membersView("a", t0, old, late), membersView("b", t0, old, late)
	id := status.CheckID{Resource: "r", Check: "c"}
	var moves status.CheckID // a check that b owns once counted
	for i := range 100 {
		c := status.CheckID{Resource: "r", Check: fmt.Sprint(i)}
		if o, _ := a.Owner(c, t0.Add(time.Hour)); o == "b" {
			moves = c
			break
		}
	}
	grace := DefaultLease * joinGrace / 2
	for _, at := range []time.Time{t0, t0.Add(grace - time.Millisecond)} {
		if !a.Owns(moves, nil, at) || b.Owns(moves, nil, at) {
			t.Errorf("at %v after b joined, a owns %v and b %v; want a until the grace is over", at.Sub(t0), a.Owns(moves, nil, at), b.Owns(moves, nil, at))
		}
	}
	if at := t0.Add(grace); a.Owns(moves, nil, at) || !b.Owns(moves, nil, at) {
		t.Errorf("once the grace is over, a owns %v and b %v; want b", a.Owns(moves, nil, at), b.Owns(moves, nil, at))
	}
	// Starting together: the first to join runs everything meanwhile.
	first := store.Member{ID: "x", JoinedAt: t0}
	second := store.Member{ID: "y", JoinedAt: t0.Add(time.Millisecond)}
	y := membersView("y", t0, first, second)
	for i := range 50 {
		c := status.CheckID{Resource: "r", Check: fmt.Sprint(i)}
		if o, _ := y.Owner(c, t0.Add(time.Second)); o != "x" {
			t.Fatalf("%s owned by %s within the grace of two members that started together, want the first, x", c, o)
		}
	}
	// Before reading the members, it runs every check.
	if fresh := New(Options{Self: store.Member{ID: "z"}}); !fresh.Owns(id, nil, t0) {
		t.Error("a member that never read the members does not run a check")
	}
}

// A check with locations runs once in each location listed, on one of
// its members, and never elsewhere; one member among them exports what
// they decide. A check without locations runs on one member anywhere.
func TestOwnsByLocation(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	joined := t0.Add(-time.Hour)
	all := []store.Member{
		{ID: "a", Location: "eu-west", JoinedAt: joined}, {ID: "b", Location: "eu-west", JoinedAt: joined},
		{ID: "c", Location: "us-east", JoinedAt: joined}, {ID: "d", JoinedAt: joined},
	}
	views := map[string]*Membership{}
	for _, m := range all {
		v := membersView(m.ID, t0, all...)
		v.opts.Self = m
		views[m.ID] = v
	}
	where := []string{"eu-west", "us-east"}
	for i := range 200 {
		id := status.CheckID{Resource: "r", Check: fmt.Sprint(i)}
		var runs, reports, anywhere []string
		for _, m := range all {
			v := views[m.ID]
			if v.Owns(id, where, t0) {
				runs = append(runs, m.ID)
			}
			if v.Reports(id, where, t0) {
				reports = append(reports, m.ID)
			}
			if v.Owns(id, nil, t0) {
				anywhere = append(anywhere, m.ID)
			}
		}
		if len(runs) != 2 || runs[len(runs)-1] != "c" || (runs[0] != "a" && runs[0] != "b") {
			t.Fatalf("%s with locations %v runs on %v, want one of a and b (eu-west), and c (us-east)", id, where, runs)
		}
		if len(reports) != 1 || reports[0] == "d" {
			t.Fatalf("%s is reported by %v, want one member of its locations", id, reports)
		}
		if len(anywhere) != 1 {
			t.Fatalf("%s without locations runs on %v, want one member", id, anywhere)
		}
	}
}
