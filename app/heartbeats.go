package app

import (
	"context"
	"time"
)

// Replicas see one another's heartbeats through the database: each polls
// for the reports received since its last look (by any of them) every
// heartbeatPoll, reading back heartbeatOverlap more, for the reports that
// another replica's recorder wrote late (it writes within a second).
const (
	heartbeatPoll    = 500 * time.Millisecond
	heartbeatOverlap = 5 * time.Second
)

// shareHeartbeats gives this replica's heartbeat checks the reports other
// replicas received, until ctx ends (a component of replicas only).
func (a *App) shareHeartbeats(ctx context.Context) error {
	select {
	case <-a.ready:
	case <-ctx.Done():
		return nil
	}
	tick := time.NewTicker(heartbeatPoll)
	defer tick.Stop()
	since := time.Now().Add(-heartbeatOverlap)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		now := time.Now()
		hb, err := a.store.HeartbeatsSince(ctx, since)
		if err != nil {
			a.logger.Debug("Cannot read the heartbeats other replicas received", "err", err)
			continue
		}
		since = now.Add(-heartbeatOverlap)
		if len(hb) > 0 {
			// Only reports newer than the ones this replica has change
			// anything (their checks run again).
			a.exporter.LoadHeartbeats(ctx, hb)
		}
	}
}
