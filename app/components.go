package app

import (
	"context"
	"fmt"
	"log/slog"
)

// component is a part of the daemon that runs until its context ends.
// run returns an error only when the component cannot go on, which stops
// the daemon.
type component struct {
	name string
	run  func(ctx context.Context) error
}

// runComponents starts the components in order, each with a context of
// its own, and runs them until ctx ends or one of them returns. Then it
// stops them in the reverse order, one at a time: each is cancelled once
// the one started after it has returned, so that a later part (the web
// server, the checks) never outlives an earlier one it feeds (the
// evaluator, the recorder). It returns the first error a component
// returned.
func runComponents(ctx context.Context, logger *slog.Logger, comps []component) error {
	type running struct {
		cancel context.CancelFunc
		done   chan struct{}
		err    error
	}
	rs := make([]*running, len(comps))
	exited := make(chan int, len(comps))
	for i, c := range comps {
		// Not derived from ctx: the components outlive it until their
		// turn to stop.
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		r := &running{cancel: cancel, done: make(chan struct{})}
		rs[i] = r
		go func() {
			defer close(r.done)
			r.err = c.run(cctx)
			exited <- i
		}()
	}
	var first error
	select {
	case <-ctx.Done():
	case i := <-exited:
		<-rs[i].done
		if err := rs[i].err; err != nil {
			first = fmt.Errorf("%s: %w", comps[i].name, err)
		}
		logger.Debug("A component stopped; stopping the others", "component", comps[i].name)
	}
	for i := len(rs) - 1; i >= 0; i-- {
		rs[i].cancel()
		<-rs[i].done
		if err := rs[i].err; err != nil && first == nil {
			first = fmt.Errorf("%s: %w", comps[i].name, err)
		}
	}
	return first
}
