package downtime

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// DefaultInterval is how often a Watcher reads its source again: a period
// started or ended anywhere applies within it (and within 2 s with the
// read's own time).
const DefaultInterval = time.Second

// Watcher keeps a source's state in memory, read again every interval in
// the background. When a read fails the last state read holds.
type Watcher struct {
	source   Source
	interval time.Duration
	logger   *slog.Logger
	state    atomic.Pointer[State]
	failing  atomic.Bool
}

// WatchOptions configure a Watcher.
type WatchOptions struct {
	// Interval is how often the source is read (default DefaultInterval).
	Interval time.Duration
	// Logger says when the source fails and recovers (default: nowhere).
	Logger *slog.Logger
}

// Watch reads a source now and then every interval until ctx ends.
func Watch(ctx context.Context, source Source, opts WatchOptions) *Watcher {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{source: source, interval: opts.Interval, logger: opts.Logger}
	w.state.Store(&State{})
	go w.run(ctx)
	return w
}

func (w *Watcher) run(ctx context.Context) {
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	for {
		_ = w.Refresh(ctx) // logged; the last state holds
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Refresh reads the source now; on failure the last state holds. It
// returns the read's error.
func (w *Watcher) Refresh(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, max(w.interval, time.Second))
	defer cancel()
	s, err := w.source.State(rctx)
	if err != nil {
		if !w.failing.Swap(true) && ctx.Err() == nil {
			w.logger.Warn("Cannot read the downtime periods; the last ones read hold", "err", err)
		}
		return err
	}
	if w.failing.Swap(false) {
		w.logger.Info("The downtime periods can be read again")
	}
	w.state.Store(&s)
	return nil
}

// Current is the state last read.
func (w *Watcher) Current() State { return *w.state.Load() }

// State implements Source with the state last read: a Watcher can be
// handed to Middleware, or to anything else that takes a Source.
func (w *Watcher) State(context.Context) (State, error) { return w.Current(), nil }
