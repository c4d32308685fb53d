package probe

import (
	"context"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// newHeartbeat levels a check by the age of the last report a job sent it,
// django_status's AgeMonitor: warning at warning_after, problem at
// problem_after (both inclusive), problem when it never reported or its
// last run failed. The value is the age in seconds.
func newHeartbeat(id status.CheckID, c *config.Check, env Env) (Prober, error) {
	warnAfter := time.Duration(c.Heartbeat.WarningAfter)
	problemAfter := time.Duration(c.Heartbeat.ProblemAfter)
	return heartbeat{token: string(c.Heartbeat.Token), ProberFunc: func(context.Context) status.Result {
		if env.Heartbeats == nil {
			return fail("never reported")
		}
		hb, seen := env.Heartbeats.LastHeartbeat(id)
		if !seen {
			return fail("never reported (problem after %s)", Human(problemAfter))
		}
		age := env.Now().Sub(hb.ReceivedAt)
		details := map[string]any{
			"last_report": hb.ReceivedAt.UTC().Format(time.RFC3339),
			"failed":      hb.Failed,
			"source":      hb.Source,
		}
		r := status.Result{Level: status.Fine, Success: true, Value: status.Float(age.Seconds()), Details: details}
		switch {
		case hb.Failed:
			r.Level, r.Success = status.Problem, false
			r.Message = "last run failed " + Human(age) + " ago"
		case age >= problemAfter:
			r.Level, r.Success = status.Problem, false
			r.Message = "late: last report " + Human(age) + " ago (problem after " + Human(problemAfter) + ")"
		case age >= warnAfter:
			r.Level = status.Warning
			r.Message = "late: last report " + Human(age) + " ago (warning after " + Human(warnAfter) + ")"
		default:
			r.Message = "last report " + Human(age) + " ago"
		}
		return r
	}}, nil
}

// Reported is a prober that jobs report to, the heartbeat kind: a report
// changes its result.
type Reported interface {
	Prober
	// Token is what a report must carry; "" takes any report.
	Token() string
}

type heartbeat struct {
	ProberFunc
	token string
}

func (h heartbeat) Token() string { return h.token }
