// Package downtime puts a web site in maintenance: a down page (503), or
// a redirect, for every request but those exempt, while a downtime period
// is active. It is statusd's downtime mode, importable by any Go program:
//
//	source := downtime.Remote("https://status.example.com", nil) // or statusd's store
//	handler = downtime.Middleware(source, downtime.Options{})(handler)
//
// The periods come from a Source and are kept in memory, read again every
// second in the background: a request never waits for them, and when the
// source cannot be reached the last state read holds.
//
// The rule is django-downtime's: a period applies when it is enabled, its
// start has come and its end (if any) has not passed; a period with no
// start never applies. Periods ahead switch on and off by themselves.
package downtime

import (
	"context"
	"time"
)

// Period is a downtime period.
type Period struct {
	ID      int64      `json:"id"`
	Enabled bool       `json:"enabled"`
	Start   *time.Time `json:"start"`
	End     *time.Time `json:"end"`
	Reason  string     `json:"reason"`
	// Services are the services of a status page the period puts in
	// maintenance; empty is all of them.
	Services []string `json:"services"`
}

// Active tells whether the period applies at now: enabled ∧ start ≤ now ∧
// (no end ∨ now ≤ end). A period with no start never applies.
func (p Period) Active(now time.Time) bool {
	return p.Enabled && p.Start != nil && !now.Before(*p.Start) && (p.End == nil || !now.After(*p.End))
}

// State is the periods a source gave, at a moment.
type State struct {
	Periods []Period `json:"periods"`
}

// Down tells whether a period is active at now, with the reason of the
// first active one and when the site is up again: the latest end of the
// active periods, nil when one of them has no end.
func (s State) Down(now time.Time) (down bool, reason string, until *time.Time) {
	open := false
	for _, p := range s.Periods {
		if !p.Active(now) {
			continue
		}
		if !down {
			down, reason = true, p.Reason
		}
		switch {
		case p.End == nil:
			open = true
		case until == nil || p.End.After(*until):
			end := *p.End
			until = &end
		}
	}
	if open {
		until = nil
	}
	return down, reason, until
}

// Source gives the downtime periods (statusd's store, or a statusd over
// its API: Remote).
type Source interface {
	// State reads the periods that have not ended.
	State(ctx context.Context) (State, error)
}

// SourceFunc is a function that is a Source.
type SourceFunc func(ctx context.Context) (State, error)

// State implements Source.
func (f SourceFunc) State(ctx context.Context) (State, error) { return f(ctx) }
