package exporter

import (
	"container/heap"
	"context"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/internal/status"
)

// scheduler runs checks on their intervals from one goroutine and a time
// heap, so that thousands of checks cost one timer rather than one each.
// Every check runs when it is added, then at a fixed phase within its
// interval derived from its name, which spreads checks of the same interval
// evenly over time on a grid of ticks. A run that finds the semaphore full waits (and counts
// as late); a check never overlaps itself; a run that overshoots its
// interval skips the slots it missed.
type scheduler struct {
	clock clockwork.Clock
	exec  func(context.Context, *Check)
	// owns tells whether this process runs a check (replicas share them
	// out); a slot of a check it does not run passes without a run, so
	// that a check that changes hands keeps its place in its interval.
	owns func(*Check, time.Time) bool
	sem  chan struct{}

	mu      sync.Mutex
	queue   entryHeap
	entries map[status.CheckID]*entry
	wake    chan struct{}
	running sync.WaitGroup
	// jobs hands runs to idle workers. Workers outlive a run, so their
	// stacks are already grown for the next one. At most maxIdleWorkers
	// wait; one idle for workerIdle exits, as do all when run returns.
	jobs    chan job
	idle    atomic.Int32
	stopped chan struct{}

	// owned counts the entries this process ran at their last slot.
	owned atomic.Int64

	delay   prometheus.Histogram
	skipped prometheus.Counter
}

type job struct {
	ctx context.Context
	e   *entry
	sem chan struct{}
}

const (
	// workerIdle is how long a worker waits for another run before it exits.
	workerIdle = 30 * time.Second
	// maxIdleWorkers bounds the workers kept waiting, after a burst such as
	// the start, when every check runs at once.
	maxIdleWorkers = 64
)

type entry struct {
	check *Check
	next  time.Time // when the next run is due
	phase time.Duration
	index int // in the heap; -1 while running or removed
	gone  bool
	// owned is whether this process ran the check at its last slot
	// (under the scheduler's mu).
	owned bool
}

func newScheduler(clock clockwork.Clock, maxConcurrency int, owns func(*Check, time.Time) bool, exec func(context.Context, *Check)) *scheduler {
	if owns == nil {
		owns = func(*Check, time.Time) bool { return true }
	}
	return &scheduler{
		clock:   clock,
		exec:    exec,
		owns:    owns,
		sem:     make(chan struct{}, maxConcurrency),
		entries: map[status.CheckID]*entry{},
		wake:    make(chan struct{}, 1),
		jobs:    make(chan job),
		stopped: make(chan struct{}),
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "statusd_scheduler_delay_seconds",
			Help:    "How late check runs started after they were due.",
			Buckets: []float64{0.001, 0.01, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "statusd_scheduler_skipped_runs_total",
			Help: "Check runs skipped because the previous run of the same check overran its interval.",
		}),
	}
}

// tick is the grid that run times fall on. Runs due at the same tick are
// dispatched together, which costs far less than waking up for each one
// (on a 2-core VM, a burst of 50 HTTP checks costs a quarter of the CPU of
// the same checks spread one by one), while the grid still spreads checks
// over their interval.
const tick = 250 * time.Millisecond

// phaseOf places a check within its interval, on the tick grid, by a hash
// of its name.
func phaseOf(id status.CheckID, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(id.String()))
	phase := time.Duration(h.Sum64() % uint64(interval))
	if interval >= tick {
		phase = phase.Truncate(tick)
	}
	return phase
}

// set replaces the scheduled checks. New checks run at once; checks that
// stay keep their place; removed ones are dropped (a run in progress ends).
func (s *scheduler) set(checks []*Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	keep := make(map[status.CheckID]bool, len(checks))
	for _, c := range checks {
		keep[c.ID] = true
		e, ok := s.entries[c.ID]
		if !ok {
			e = &entry{check: c, next: now, phase: phaseOf(c.ID, c.Interval), index: -1}
			s.entries[c.ID] = e
			heap.Push(&s.queue, e)
			continue
		}
		old := e.check.Interval
		e.check = c
		if c.Interval != old {
			e.phase = phaseOf(c.ID, c.Interval)
			if e.index >= 0 && e.next.After(now.Add(c.Interval)) {
				e.next = now
				heap.Fix(&s.queue, e.index)
			}
		}
	}
	for id, e := range s.entries {
		if keep[id] {
			continue
		}
		e.gone = true
		if e.owned {
			s.owned.Add(-1)
		}
		if e.index >= 0 {
			heap.Remove(&s.queue, e.index)
		}
		delete(s.entries, id)
	}
	s.signal()
}

// setConcurrency changes how many checks may run at once; runs in progress
// finish under the old bound.
func (s *scheduler) setConcurrency(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cap(s.sem) != n {
		s.sem = make(chan struct{}, n)
	}
}

// acquire waits for a place under the concurrency bound until ctx ends,
// for a run outside the schedule.
func (s *scheduler) acquire(ctx context.Context) (release func(), err error) {
	s.mu.Lock()
	sem := s.sem
	s.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run dispatches due checks until ctx ends, then waits for the runs in
// progress, which ctx cancels too.
func (s *scheduler) run(ctx context.Context) {
	runCtx := ctx
	defer close(s.stopped)
	defer s.running.Wait()
	var timer clockwork.Timer
	for {
		s.mu.Lock()
		var wait time.Duration = -1
		var due *entry
		sem := s.sem
		if len(s.queue) > 0 {
			e := s.queue[0]
			if d := e.next.Sub(s.clock.Now()); d > 0 {
				wait = d
			} else {
				due = heap.Pop(&s.queue).(*entry)
			}
		}
		s.mu.Unlock()

		// Asked at the slot's time, not now, so that every member
		// answers for the same moment.
		if due != nil {
			owns := s.owns(due.check, due.next)
			s.mu.Lock()
			if owns != due.owned && !due.gone {
				due.owned = owns
				if owns {
					s.owned.Add(1)
				} else {
					s.owned.Add(-1)
				}
			}
			if !owns {
				s.requeue(due, due.next, false)
			}
			s.mu.Unlock()
			if !owns {
				continue
			}
		}
		if due != nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			s.running.Add(1)
			j := job{runCtx, due, sem}
			select {
			case s.jobs <- j:
			default:
				go s.worker(j)
			}
			continue
		}
		var fire <-chan time.Time
		if wait >= 0 {
			// One timer for the loop's life, reset at each wait.
			if timer == nil {
				timer = s.clock.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			fire = timer.Chan()
		}
		select {
		case <-fire:
		case <-s.wake:
		case <-ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// worker runs j, then the runs handed to it, until it has been idle for
// workerIdle.
func (s *scheduler) worker(j job) {
	growStack()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		s.dispatch(j.ctx, j.e, j.sem)
		if s.idle.Add(1) > maxIdleWorkers {
			s.idle.Add(-1)
			return
		}
		idle.Reset(workerIdle)
		select {
		case j = <-s.jobs:
			s.idle.Add(-1)
		case <-idle.C:
			s.idle.Add(-1)
			return
		case <-s.stopped:
			s.idle.Add(-1)
			return
		}
	}
}

func (s *scheduler) dispatch(ctx context.Context, e *entry, sem chan struct{}) {
	defer s.running.Done()
	s.mu.Lock()
	c, due := e.check, e.next
	s.mu.Unlock()
	s.delay.Observe(max(s.clock.Since(due), 0).Seconds())
	s.exec(ctx, c)
	<-sem

	s.mu.Lock()
	defer s.mu.Unlock()
	s.requeue(e, due, true)
}

// requeue schedules e's next run after the one due then, unless e was
// removed meanwhile. Runs fall on the check's phase within each interval:
// the first run happens at once, the next on the first slot after it.
// Slots already past are skipped, and counted as such when missed says
// they were missed (the run overran them). s.mu must be held.
func (s *scheduler) requeue(e *entry, due time.Time, missed bool) {
	if e.gone {
		return
	}
	now := s.clock.Now()
	interval := e.check.Interval
	next := due.Truncate(interval).Add(e.phase)
	for !next.After(due) {
		next = next.Add(interval)
	}
	if !next.After(now) {
		n := now.Sub(next)/interval + 1
		if missed {
			s.skipped.Add(float64(n))
		}
		next = next.Add(n * interval)
	}
	e.next = next
	heap.Push(&s.queue, e)
	// The loop waits for the head of the queue: it needs waking only when
	// this run comes before it (not at every run's end, a thousand
	// wake-ups a second at 1,000 checks a second).
	if e.index == 0 {
		s.signal()
	}
}

// entryHeap orders entries by their next run.
type entryHeap []*entry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *entryHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*h = old[:len(old)-1]
	return e
}

// runStack is what growStack asks for: with its own frame and the
// runtime's guard, the goroutine gets a 16 KiB stack, which a plain http
// run needs (at its deepest, the connect under net/http's client and the
// dialer, thirty frames and about 9 KiB deep with Go 1.26).
const runStack = 8 << 10

// growStack gives the calling goroutine, at its start, the stack of a
// run. A goroutine starts with a small stack that the runtime doubles by
// copying when a call needs more, and a copy adjusts every frame on the
// stack: growing at the connect cost 6.6 % of statusd's CPU at 1,000 runs
// per second (runtime.copystack in the profile; the scheduler starts a
// goroutine for most runs of a busy tick). Here the copy has two frames
// to adjust, and clearing the frame is all the call costs otherwise.
//
//go:noinline
func growStack() {
	var frame [runStack]byte
	keep(frame[:])
}

//go:noinline
func keep([]byte) {}
