package cluster

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
)

// How results travel between members: the owner of a check writes its
// latest results every shareWrite, in one statement however many there
// are, and every member reads those the others wrote every shareRead,
// reading back shareOverlap more for a write that committed late or a
// clock a little behind (members' clocks must agree to well within it:
// NTP), and decoding only the results it has not read. A result is
// served by every member within a second of its run.
//
// Heartbeats travel the same way, with the same reads: the member a job
// reports to records the report (within a second: the recorder's
// flush), and every member reads the reports received since its last
// look, heartbeatOverlap more, so that the owner of the heartbeat check
// runs it on the report.
const (
	shareWrite       = 250 * time.Millisecond
	shareRead        = 500 * time.Millisecond
	shareOverlap     = time.Second
	heartbeatOverlap = 5 * time.Second
)

// SharingStore is what sharing results needs of the database.
type SharingStore interface {
	ShareResults(ctx context.Context, owner string, now time.Time, results []store.SharedResult) error
	SharedResultsSince(ctx context.Context, since time.Time, self string, newer func(store.SharedResult) bool) ([]store.SharedResult, error)
	HeartbeatsSince(ctx context.Context, since time.Time) (map[status.CheckID]store.Heartbeat, error)
}

// SharingOptions configure a Sharing.
type SharingOptions struct {
	Store SharingStore
	// Self is this member's id.
	Self string
	// Adopt receives the results the other members ran (ID, Location,
	// Result), in the order each check ran in each location; it must not
	// block.
	Adopt func(store.SharedResult)
	// Heartbeats receives the latest report of each check that any
	// member received since the last read (and a few seconds more); it
	// may run the checks they change.
	Heartbeats func(context.Context, map[status.CheckID]store.Heartbeat)
	// Ready is closed once the database is migrated.
	Ready      <-chan struct{}
	Clock      clockwork.Clock
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Sharing shares the latest results of the checks this member runs with
// the other members, and gives it theirs, so that each member serves
// every check: the API, the page and the evaluator's view.
type Sharing struct {
	opts     SharingOptions
	failures *prometheus.CounterVec

	mu      sync.Mutex
	pending map[site]status.Result

	// seen is when the run of each result read last started: a result
	// is read back for shareOverlap after it was written, and decoded
	// once.
	seen map[site]time.Time
}

// site is a check in a location ("" for a check without locations).
type site struct {
	id       status.CheckID
	location string
}

// NewSharing returns a Sharing; Run shares.
func NewSharing(opts SharingOptions) *Sharing {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sharing{opts: opts, pending: map[site]status.Result{}, seen: map[site]time.Time{},
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusd_cluster_sharing_failures_total",
			Help: "Writes of this member's latest results, and reads of the other members', that the database refused (they are retried).",
		}, []string{"op"}),
	}
	s.failures.WithLabelValues("write")
	s.failures.WithLabelValues("read")
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(s.failures)
	}
	return s
}

// Share queues the result of a run of a check this member ran in its
// location ("" for a check without locations); only the newest of each
// is written.
func (s *Sharing) Share(id status.CheckID, location string, res status.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := site{id, location}
	if cur, ok := s.pending[k]; !ok || res.CheckedAt.After(cur.CheckedAt) {
		s.pending[k] = res
	}
}

// Run writes and reads results once the database is ready, until ctx
// ends; then it writes what is left.
func (s *Sharing) Run(ctx context.Context) {
	select {
	case <-s.opts.Ready:
	case <-ctx.Done():
		return
	}
	tick := s.opts.Clock.NewTicker(shareWrite)
	defer tick.Stop()
	// The first read takes every shared result, so that a member that
	// starts serves the latest of every check at once, not only of
	// those run since. (Heartbeats were all read when the store became
	// ready.)
	var since, read time.Time
	heartbeatsSince := s.opts.Clock.Now().Add(-heartbeatOverlap)
	for {
		select {
		case <-ctx.Done():
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			s.write(wctx)
			cancel()
			return
		case <-tick.Chan():
		}
		s.write(ctx)
		if now := s.opts.Clock.Now(); now.Sub(read) >= shareRead {
			read = now
			if s.read(ctx, since) {
				since = now.Add(-shareOverlap)
			}
			if s.readHeartbeats(ctx, heartbeatsSince) {
				heartbeatsSince = now.Add(-heartbeatOverlap)
			}
		}
	}
}

// readHeartbeats gives Heartbeats the reports received since; false when
// the database did not answer.
func (s *Sharing) readHeartbeats(ctx context.Context, since time.Time) bool {
	if s.opts.Heartbeats == nil {
		return true
	}
	hb, err := s.opts.Store.HeartbeatsSince(ctx, since)
	if err != nil {
		s.failures.WithLabelValues("read").Inc()
		s.opts.Logger.Debug("Cannot read the heartbeats the other members received", "err", err)
		return false
	}
	if len(hb) > 0 {
		s.opts.Heartbeats(ctx, hb)
	}
	return true
}

// write writes the queued results; when the database does not take them
// they wait for the next write, unless a newer result came meanwhile.
func (s *Sharing) write(ctx context.Context) {
	s.mu.Lock()
	batch := s.pending
	if len(batch) == 0 {
		s.mu.Unlock()
		return
	}
	s.pending = map[site]status.Result{}
	s.mu.Unlock()
	rows := make([]store.SharedResult, 0, len(batch))
	for k, res := range batch {
		rows = append(rows, store.SharedResult{ID: k.id, Location: k.location, Result: res})
	}
	err := s.opts.Store.ShareResults(ctx, s.opts.Self, s.opts.Clock.Now(), rows)
	if err == nil {
		return
	}
	s.failures.WithLabelValues("write").Inc()
	s.opts.Logger.Debug("Cannot share the latest results with the other members", "err", err)
	for k, res := range batch {
		s.Share(k.id, k.location, res)
	}
}

// read adopts what the others wrote since; false when the database did
// not answer.
func (s *Sharing) read(ctx context.Context, since time.Time) bool {
	shared, err := s.opts.Store.SharedResultsSince(ctx, since, s.opts.Self, func(r store.SharedResult) bool {
		k := site{r.ID, r.Location}
		if last, ok := s.seen[k]; ok && !r.Result.CheckedAt.After(last) {
			return false
		}
		s.seen[k] = r.Result.CheckedAt
		return true
	})
	if err != nil {
		s.failures.WithLabelValues("read").Inc()
		s.opts.Logger.Debug("Cannot read the results the other members shared", "err", err)
		return false
	}
	for _, r := range shared {
		s.opts.Adopt(r)
	}
	return true
}
