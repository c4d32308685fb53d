package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// Two members share results through a real database: each adopts what
// the other ran, its own never, each result once however often it is
// read back, and a member's first read takes what was shared before it
// started.
func TestSharing(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	adopted := map[string][]store.SharedResult{}
	member := func(id string) *Sharing {
		return NewSharing(SharingOptions{Store: st, Self: id, Clock: clock,
			Adopt: func(r store.SharedResult) { adopted[id] = append(adopted[id], r) }})
	}
	a, b := member("a"), member("b")
	api := status.CheckID{Resource: "health", Check: "api"}
	db := status.CheckID{Resource: "health", Check: "db"}
	run := func(at time.Time, ok bool) status.Result {
		return status.Result{Level: status.Fine, Success: ok, Message: "200 OK", CheckedAt: at}
	}

	a.Share(api, "", run(clock.Now(), true))
	a.Share(api, "", run(clock.Now().Add(-time.Second), false)) // older: not kept
	a.write(ctx)
	clock.Advance(time.Minute)
	// b starts a minute later: its first read (since the zero time)
	// takes a's result.
	if !b.read(ctx, time.Time{}) || len(adopted["b"]) != 1 || adopted["b"][0].ID != api || !adopted["b"][0].Result.Success || adopted["b"][0].Owner != "a" {
		t.Fatalf("b's first read: %+v", adopted["b"])
	}
	since := clock.Now().Add(-shareOverlap)
	b.Share(db, "us-east", run(clock.Now(), false))
	b.write(ctx)
	a.Share(api, "", run(clock.Now(), true))
	a.write(ctx)
	// Read twice over the same overlap: adopted once.
	for range 2 {
		if !b.read(ctx, since) || !a.read(ctx, since) {
			t.Fatal("a read failed")
		}
	}
	if got := adopted["b"]; len(got) != 2 || got[1].ID != api || !got[1].Result.CheckedAt.Equal(clock.Now()) {
		t.Errorf("b adopted %+v, want a's two results of %s, once each", got, api)
	}
	if got := adopted["a"]; len(got) != 1 || got[0].ID != db || got[0].Location != "us-east" || got[0].Result.Success {
		t.Errorf("a adopted %+v, want b's result of %s in us-east", got, db)
	}

	// The database goes away: the write is counted as failed and its
	// results wait for the next one, as do the reads.
	st.Close()
	a.Share(api, "", run(clock.Now().Add(time.Second), true))
	a.write(ctx)
	if b.read(ctx, since) {
		t.Error("a read from a closed database succeeded")
	}
	if n := testutil.ToFloat64(a.failures.WithLabelValues("write")); n != 1 || len(a.pending) != 1 {
		t.Errorf("after a failed write: %v failures counted, %d results waiting", n, len(a.pending))
	}
	if n := testutil.ToFloat64(b.failures.WithLabelValues("read")); n != 1 {
		t.Errorf("after a failed read: %v failures counted", n)
	}
}
