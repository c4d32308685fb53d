package probe

import (
	"context"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// newPing answers {"pong": true}, django-status's ping: statusd is up.
func newPing(status.CheckID, *config.Check, Env) (Prober, error) {
	return ProberFunc(func(context.Context) status.Result {
		return ok(nil, map[string]any{"pong": true}, "pong")
	}), nil
}
