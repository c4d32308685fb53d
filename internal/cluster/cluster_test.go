package cluster

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

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
	if v := m.View(); v.Current || len(v.Members) != 0 || v.Self != "a:9799" {
		t.Fatalf("before the first renewal: %+v", v)
	}
	m.Renew(context.Background())
	v := m.View()
	if !v.Current || len(v.Members) != 1 || v.Members[0].Checks != 7 || v.Members[0].ID != "a:9799" {
		t.Fatalf("after a renewal: %+v", v)
	}
	if got := testutil.ToFloat64(m.members); got != 1 {
		t.Errorf("statusd_cluster_members %v, want 1", got)
	}
	clock.Advance(DefaultLease)
	if m.View().Current {
		t.Errorf("a view a lease old is current")
	}
	st.Close()
	m.Renew(context.Background())
	if got := testutil.ToFloat64(m.failures); got != 1 {
		t.Errorf("failures %v, want 1", got)
	}
	if v := m.View(); len(v.Members) != 1 || v.Current {
		t.Errorf("after a failed renewal: %+v, want the last view, not current", v)
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
