package probe

import (
	"context"
	"fmt"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// newStorage checks statusd's own database: that it answers, and that
// statusd's writes to it go through. Writes failing (a full disk, a
// read-only file) are a warning at once, and a problem once they have
// failed for failing_problem or pending_problem results wait; the value
// is the answer's time in seconds.
func newStorage(_ status.CheckID, c *config.Check, env Env) (Prober, error) {
	o := c.Storage
	return ProberFunc(func(ctx context.Context) status.Result {
		if env.Store == nil {
			return fail("no database is open")
		}
		start := time.Now()
		if err := env.Store.Ping(ctx); err != nil {
			return fail("%s does not answer: %s", env.Store, describeErr(ctx, err))
		}
		took := time.Since(start)
		details := map[string]any{"dialect": string(env.Store.Dialect())}
		r := ok(status.Float(took.Seconds()), details, "%s answers in %s", env.Store, Human(took))
		if env.Writes == nil {
			return r
		}
		since, pending := env.Writes.WriteHealth()
		details["pending_results"] = pending
		if since.IsZero() {
			return r
		}
		failing := env.Now().Sub(since)
		details["writes_failing_seconds"] = failing.Seconds()
		msg := fmt.Sprintf("%s answers, but writing to it has failed for %s; %d results wait in memory", env.Store, Human(failing), pending)
		switch {
		case failing >= time.Duration(o.FailingProblem):
			r = fail("%s (problem after %s)", msg, Human(time.Duration(o.FailingProblem)))
		case pending >= o.PendingProblem:
			r = fail("%s (problem from %d)", msg, o.PendingProblem)
		default:
			r.Level, r.Message = status.Warning, msg
		}
		r.Value, r.Details = status.Float(took.Seconds()), details
		return r
	}), nil
}
