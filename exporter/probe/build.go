package probe

import (
	"context"
	"fmt"

	"github.com/prometheus/common/version"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// newBuild reports how statusd was built, django-status's "code" stats.
func newBuild(_ status.CheckID, _ *config.Check, env Env) (Prober, error) {
	b := env.Build
	return ProberFunc(func(context.Context) status.Result {
		details := map[string]any{
			"version":    b.Version,
			"revision":   b.Revision,
			"branch":     b.Branch,
			"build_date": b.BuildDate,
			"go_version": b.GoVersion,
			"debug":      b.Debug,
		}
		msg := fmt.Sprintf("statusd %s", b.Version)
		if b.Revision != "" && b.Revision != "unknown" {
			msg += fmt.Sprintf(" (%s)", short(b.Revision))
		}
		return ok(nil, details, "%s", msg)
	}), nil
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// ThisBuild describes the running binary, from the version stamped in at
// build time; debug tells whether debug logging is on.
func ThisBuild(debug bool) BuildInfo {
	return BuildInfo{
		Version:   version.Version,
		Revision:  version.GetRevision(),
		Branch:    version.Branch,
		BuildDate: version.BuildDate,
		GoVersion: version.GoVersion,
		Debug:     debug,
	}
}
