package exporter

import (
	"context"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/statusd/statusd/internal/status"
)

// The scheduler tests run in synctest bubbles: time is virtual and
// synctest.Wait returns once every goroutine of the scheduler is blocked,
// so they assert exact times without sleeping or polling.

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// runLog records when each check started.
type runLog struct {
	mu   sync.Mutex
	runs map[status.CheckID][]time.Time
	// hold, when set, blocks runs until it is closed.
	hold    chan struct{}
	running int
	maxSeen int
}

func newRunLog() *runLog {
	return &runLog{runs: map[status.CheckID][]time.Time{}}
}

func (l *runLog) exec(_ context.Context, c *Check) {
	l.mu.Lock()
	l.runs[c.ID] = append(l.runs[c.ID], time.Now())
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

func testCheck(name string, interval time.Duration) *Check {
	return &Check{ID: status.CheckID{Resource: "health", Check: name}, Interval: interval, Timeout: interval / 2, state: &checkState{}}
}

// startScheduler runs s until the returned stop is called.
func startScheduler(s *scheduler) (stop func()) {
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

// sleepUntil advances the bubble's clock to at and lets the scheduler
// catch up.
func sleepUntil(at time.Time) {
	time.Sleep(time.Until(at))
	synctest.Wait()
}

// expectedRuns lists when a check added at start should run up to end: at
// once, then on its phase in every interval.
func expectedRuns(c *Check, start, end time.Time) []time.Time {
	runs := []time.Time{start}
	next := start.Truncate(c.Interval).Add(phaseOf(c.ID, c.Interval))
	for !next.After(start) {
		next = next.Add(c.Interval)
	}
	for ; !next.After(end); next = next.Add(c.Interval) {
		runs = append(runs, next)
	}
	return runs
}

func TestSchedulerRunsOnPhase(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		log := newRunLog()
		s := newScheduler(clockwork.NewRealClock(), 10, nil, log.exec)
		checks := []*Check{testCheck("a", 10*time.Second), testCheck("b", 10*time.Second), testCheck("c", 30*time.Second), testCheck("d", 7*time.Second)}
		s.set(checks)
		defer startScheduler(s)()

		end := start.Add(95 * time.Second)
		var due []time.Time
		for _, c := range checks {
			due = append(due, expectedRuns(c, start, end)...)
		}
		sort.Slice(due, func(i, j int) bool { return due[i].Before(due[j]) })
		synctest.Wait()
		for _, at := range due {
			sleepUntil(at)
		}
		sleepUntil(end)
		if n := log.count(); n != len(due) {
			t.Fatalf("%d runs, want %d", n, len(due))
		}
		for _, c := range checks {
			got, exp := log.of(c.ID), expectedRuns(c, start, end)
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
	})
}

func TestSchedulerBoundsConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newRunLog()
		log.hold = make(chan struct{})
		s := newScheduler(clockwork.NewRealClock(), 2, nil, log.exec)
		var checks []*Check
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			checks = append(checks, testCheck(n, time.Minute))
		}
		s.set(checks)
		stop := startScheduler(s)
		synctest.Wait()
		if n := log.count(); n != 2 {
			t.Fatalf("%d runs started with a bound of 2", n)
		}
		time.Sleep(3 * time.Second) // the waiting runs become late
		close(log.hold)
		synctest.Wait()
		if n := log.count(); n != 5 {
			t.Fatalf("%d runs after the first ones ended, want 5", n)
		}
		stop()
		if log.maxSeen != 2 {
			t.Errorf("at most %d ran at once, want 2", log.maxSeen)
		}
		m := &dtoHistogram{}
		m.read(t, s)
		if m.count != 5 || m.lateOverOne != 3 {
			t.Errorf("delay histogram: %d runs, %d later than 1s; want 5 and 3", m.count, m.lateOverOne)
		}
	})
}

func TestSchedulerSkipsMissedSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		log := newRunLog()
		log.hold = make(chan struct{})
		s := newScheduler(clockwork.NewRealClock(), 10, nil, log.exec)
		c := testCheck("slow", 10*time.Second)
		s.set([]*Check{c})
		defer startScheduler(s)()
		synctest.Wait()
		time.Sleep(35 * time.Second) // the first run hangs past three slots
		close(log.hold)
		synctest.Wait()
		exp := expectedRuns(c, start, start.Add(35*time.Second))
		if n := testutil.ToFloat64(s.skipped); n != float64(len(exp)-1) {
			t.Errorf("skipped %v runs, want %d", n, len(exp)-1)
		}
		next := exp[len(exp)-1].Add(10 * time.Second)
		sleepUntil(next)
		if runs := log.of(c.ID); len(runs) != 2 || !runs[1].Equal(next) {
			t.Errorf("after the overrun the check ran at %v, want once more at %s", runs, next.Format(time.TimeOnly))
		}
	})
}

func TestSchedulerSetAddsAndRemoves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newRunLog()
		s := newScheduler(clockwork.NewRealClock(), 10, nil, log.exec)
		a, b := testCheck("a", 10*time.Second), testCheck("b", 10*time.Second)
		s.set([]*Check{a})
		defer startScheduler(s)()
		synctest.Wait()
		if n := len(log.of(a.ID)); n != 1 {
			t.Fatalf("a ran %d times at start", n)
		}
		s.set([]*Check{b})
		synctest.Wait()
		if n := len(log.of(b.ID)); n != 1 {
			t.Fatalf("b ran %d times when added, want at once", n)
		}
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if n := len(log.of(b.ID)); n != 4 {
			t.Errorf("b ran %d times in 30s, want 4", n)
		}
		if n := len(log.of(a.ID)); n != 1 {
			t.Errorf("removed check ran %d times", n)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.entries[b.ID]; len(s.entries) != 1 || !ok {
			t.Errorf("entries = %v", s.entries)
		}
	})
}

func TestSchedulerShutdownWaitsForRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newRunLog()
		log.hold = make(chan struct{})
		s := newScheduler(clockwork.NewRealClock(), 10, nil, log.exec)
		s.set([]*Check{testCheck("a", time.Minute)})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			s.run(ctx)
			close(done)
		}()
		synctest.Wait()
		cancel()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("run returned while a check was still running")
		default:
		}
		close(log.hold)
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("run did not return after the check ended")
		}
	})
}

// A check that changes hands at a moment runs on its slots before it on
// the old owner and after it on the new one: once per slot across the
// two, never twice, and each counts the checks it ran at their last slot.
func TestSchedulerHandsChecksOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		handover := start.Add(25 * time.Second)
		c := testCheck("a", 10*time.Second)
		oldLog, newLog := newRunLog(), newRunLog()
		old := newScheduler(clockwork.NewRealClock(), 10, func(_ *Check, at time.Time) bool { return at.Before(handover) }, oldLog.exec)
		next := newScheduler(clockwork.NewRealClock(), 10, func(_ *Check, at time.Time) bool { return !at.Before(handover) }, newLog.exec)
		old.set([]*Check{testCheck("a", 10*time.Second)})
		next.set([]*Check{testCheck("a", 10*time.Second)})
		defer startScheduler(old)()
		defer startScheduler(next)()
		end := start.Add(60 * time.Second)
		for _, at := range expectedRuns(c, start, end) {
			sleepUntil(at)
		}
		sleepUntil(end)
		exp := expectedRuns(c, start, end)
		got := append(oldLog.of(c.ID), newLog.of(c.ID)...)
		if len(got) != len(exp) {
			t.Fatalf("%d runs across the two, want %d: %v", len(got), len(exp), got)
		}
		for i := range exp {
			if !got[i].Equal(exp[i]) {
				t.Errorf("run %d at %s, want %s", i, got[i].Format(time.StampMilli), exp[i].Format(time.StampMilli))
			}
		}
		for _, at := range oldLog.of(c.ID) {
			if !at.Before(handover) {
				t.Errorf("the old owner ran it at %s, after the handover", at.Format(time.StampMilli))
			}
		}
		if o, n := old.owned.Load(), next.owned.Load(); o != 0 || n != 1 {
			t.Errorf("owned: old %d, new %d; want 0 and 1", o, n)
		}
	})
}
