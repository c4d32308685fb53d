package probe

import (
	"context"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// newStorage checks statusd's own database.
func newStorage(_ status.CheckID, _ *config.Check, env Env) (Prober, error) {
	return ProberFunc(func(ctx context.Context) status.Result {
		if env.Store == nil {
			return fail("no database is open")
		}
		start := time.Now()
		if err := env.Store.Ping(ctx); err != nil {
			return fail("%s does not answer: %s", env.Store, describeErr(ctx, err))
		}
		took := time.Since(start)
		return ok(status.Float(took.Seconds()), map[string]any{"dialect": string(env.Store.Dialect())},
			"%s answers in %s", env.Store, Human(took))
	}), nil
}
