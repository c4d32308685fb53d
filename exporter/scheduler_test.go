package exporter

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/statusd/statusd/internal/status"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// runLog records when each check started, by the fake clock.
type runLog struct {
	mu    sync.Mutex
	clock clockwork.Clock
	runs  map[status.CheckID][]time.Time
	// hold, when set, blocks runs until it is closed.
	hold    chan struct{}
	running int
	maxSeen int
}

func newRunLog(clock clockwork.Clock) *runLog {
	return &runLog{clock: clock, runs: map[status.CheckID][]time.Time{}}
}

func (l *runLog) exec(_ context.Context, c *Check) {
	l.mu.Lock()
	l.runs[c.ID] = append(l.runs[c.ID], l.clock.Now())
	l.running++
	l.maxSeen = max(l.maxSeen, l.running)
	hold := l.hold
	l.mu.Unlock()
	if hold != nil {
		<-hold
	}
	l.mu.Lock()
	l.running--
	l.mu.Unlock()
}

func (l *runLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.runs {
		n += len(r)
	}
	return n
}

func (l *runLog) of(id status.CheckID) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.runs[id]...)
}

// waitFor polls until cond holds, failing after a second of real time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func testCheck(name string, interval time.Duration) *Check {
	return &Check{ID: status.CheckID{Resource: "health", Check: name}, Interval: interval, Timeout: interval / 2, state: &checkState{}}
}

func startScheduler(t *testing.T, s *scheduler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// expectedRuns lists when a check added at t0 should start up to end: at
// once, then on its phase in every interval.
func expectedRuns(c *Check, end time.Time) []time.Time {
	runs := []time.Time{t0}
	next := t0.Truncate(c.Interval).Add(phaseOf(c.ID, c.Interval))
	for !next.After(t0) {
		next = next.Add(c.Interval)
	}
	for ; !next.After(end); next = next.Add(c.Interval) {
		runs = append(runs, next)
	}
	return runs
}

func TestSchedulerRunsOnPhase(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	log := newRunLog(clock)
	s := newScheduler(clock, 10, log.exec)
	checks := []*Check{testCheck("a", 10*time.Second), testCheck("b", 10*time.Second), testCheck("c", 30*time.Second), testCheck("d", 7*time.Second)}
	s.set(checks)
	defer startScheduler(t, s)()

	end := t0.Add(95 * time.Second)
	var due []time.Time
	for _, c := range checks {
		due = append(due, expectedRuns(c, end)...)
	}
	sort.Slice(due, func(i, j int) bool { return due[i].Before(due[j]) })
	for i, at := range due {
		clock.Advance(at.Sub(clock.Now()))
		waitFor(t, "runs due by "+at.Format(time.StampMilli), func() bool { return log.count() >= i+1 })
	}
	if n := log.count(); n != len(due) {
		t.Fatalf("%d runs, want %d", n, len(due))
	}
	for _, c := range checks {
		got, exp := log.of(c.ID), expectedRuns(c, end)
		if len(got) != len(exp) {
			t.Fatalf("%s ran %d times, want %d: %v", c.ID, len(got), len(exp), got)
		}
		for i := range exp {
			if !got[i].Equal(exp[i]) {
				t.Errorf("%s run %d at %s, want %s", c.ID, i, got[i].Format(time.StampMilli), exp[i].Format(time.StampMilli))
			}
		}
	}
	// Checks of the same interval fall on different phases.
	if phaseOf(checks[0].ID, 10*time.Second) == phaseOf(checks[1].ID, 10*time.Second) {
		t.Error("a and b share a phase")
	}
	if n := testutil.ToFloat64(s.skipped); n != 0 {
		t.Errorf("skipped %v runs", n)
	}
}

func TestSchedulerBoundsConcurrency(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	log := newRunLog(clock)
	log.hold = make(chan struct{})
	s := newScheduler(clock, 2, log.exec)
	var checks []*Check
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		checks = append(checks, testCheck(n, time.Minute))
	}
	s.set(checks)
	stop := startScheduler(t, s)
	waitFor(t, "two runs", func() bool { return log.count() == 2 })
	time.Sleep(20 * time.Millisecond)
	if n := log.count(); n != 2 {
		t.Fatalf("%d runs started with a bound of 2", n)
	}
	clock.Advance(3 * time.Second) // the waiting runs become late
	close(log.hold)
	waitFor(t, "all runs", func() bool { return log.count() == 5 })
	stop()
	if log.maxSeen != 2 {
		t.Errorf("at most %d ran at once, want 2", log.maxSeen)
	}
	m := &dtoHistogram{}
	m.read(t, s)
	if m.count != 5 || m.lateOverOne != 3 {
		t.Errorf("delay histogram: %d runs, %d later than 1s; want 5 and 3", m.count, m.lateOverOne)
	}
}

func TestSchedulerSkipsMissedSlots(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	log := newRunLog(clock)
	log.hold = make(chan struct{})
	s := newScheduler(clock, 10, log.exec)
	c := testCheck("slow", 10*time.Second)
	s.set([]*Check{c})
	defer startScheduler(t, s)()
	waitFor(t, "first run", func() bool { return log.count() == 1 })
	clock.Advance(35 * time.Second) // the first run hangs past three slots
	close(log.hold)
	exp := expectedRuns(c, t0.Add(35*time.Second))
	waitFor(t, "skip counted", func() bool { return testutil.ToFloat64(s.skipped) == float64(len(exp)-1) })
	next := exp[len(exp)-1].Add(10 * time.Second)
	clock.Advance(next.Sub(clock.Now()))
	waitFor(t, "next run", func() bool { return log.count() == 2 })
	if got := log.of(c.ID)[1]; !got.Equal(next) {
		t.Errorf("after the overrun the check ran at %s, want %s", got.Format(time.TimeOnly), next.Format(time.TimeOnly))
	}
}

func TestSchedulerSetAddsAndRemoves(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	log := newRunLog(clock)
	s := newScheduler(clock, 10, log.exec)
	a, b := testCheck("a", 10*time.Second), testCheck("b", 10*time.Second)
	s.set([]*Check{a})
	defer startScheduler(t, s)()
	waitFor(t, "a", func() bool { return len(log.of(a.ID)) == 1 })
	s.set([]*Check{b})
	waitFor(t, "b runs at once", func() bool { return len(log.of(b.ID)) == 1 })
	for range 30 {
		clock.Advance(time.Second)
		time.Sleep(time.Millisecond)
	}
	waitFor(t, "b's later runs", func() bool { return len(log.of(b.ID)) >= 3 })
	if n := len(log.of(a.ID)); n != 1 {
		t.Errorf("removed check ran %d times", n)
	}
	var ids []string
	for id := range s.entries {
		ids = append(ids, id.String())
	}
	sort.Strings(ids)
	if len(ids) != 1 || ids[0] != "health/b" {
		t.Errorf("entries = %v", ids)
	}
}

func TestSchedulerShutdownWaitsForRuns(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	log := newRunLog(clock)
	log.hold = make(chan struct{})
	s := newScheduler(clock, 10, log.exec)
	s.set([]*Check{testCheck("a", time.Minute)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.run(ctx)
		close(done)
	}()
	waitFor(t, "run", func() bool { return log.count() == 1 })
	cancel()
	select {
	case <-done:
		t.Fatal("run returned while a check was still running")
	case <-time.After(50 * time.Millisecond):
	}
	close(log.hold)
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("run did not return after the check ended")
	}
}
