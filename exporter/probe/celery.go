package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/statusd/statusd/exporter/probe/celery"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// celeryWorkers pings Celery workers through their broker, as `celery
// inspect ping` does: details {worker: true|false}. Named workers must all
// answer within the timeout; without names, every worker that answers
// within a second is reported and the check is at problem when none does.
// With stats it adds `celery inspect stats` for the workers that answered.
// The value is the number of workers that answered.
type celeryWorkers struct {
	broker    string
	where     string // the broker without credentials, for messages
	secrets   secrets
	namespace string
	workers   []string
	stats     bool
}

func newCelery(_ status.CheckID, c *config.Check, _ Env) (Prober, error) {
	cc := c.Celery
	broker := string(cc.Broker)
	return &celeryWorkers{
		broker:    broker,
		where:     redactURL(broker),
		secrets:   secretsOf(broker),
		namespace: cc.Namespace,
		workers:   slices.Clone(cc.Workers),
		stats:     cc.Stats,
	}, nil
}

// Probe implements Prober.
func (c *celeryWorkers) Probe(ctx context.Context) status.Result {
	start := time.Now()
	replies, err := celery.Broadcast(ctx, c.broker, celery.Request{Namespace: c.namespace, Method: "ping", Workers: c.workers})
	noWorkers := errors.Is(err, celery.ErrNoWorkers)
	if err != nil && !noWorkers {
		return fail("Celery broker %s: %s", c.where, c.secrets.scrub(describeErr(ctx, err)))
	}
	details := map[string]any{}
	for w := range replies {
		details[w] = true
	}
	var missing []string
	for _, w := range c.workers {
		if _, ok := replies[w]; !ok {
			details[w] = false
			missing = append(missing, w)
		}
	}
	answered := float64(len(replies))
	problem := func(format string, args ...any) status.Result {
		r := fail(format, args...)
		r.Value, r.Details = &answered, details
		return r
	}
	workers := strings.Join(missing, ", ")
	switch {
	case noWorkers && len(missing) > 0:
		return problem("Celery worker%s %s not running: no worker listens on %s", plural(len(missing)), workers, c.where)
	case len(missing) > 0:
		return problem("Celery worker%s %s did not answer within %s", plural(len(missing)), workers, Human(timeoutOf(ctx, time.Since(start))))
	case noWorkers:
		return problem("no Celery worker listens on %s", c.where)
	case len(replies) == 0:
		return problem("no Celery worker answered through %s within %s", c.where, Human(celery.DefaultWindow))
	}
	names := slices.Sorted(maps.Keys(replies))
	// Named workers end the wait when they have all answered; otherwise
	// replies are collected for Celery's window.
	took := "in " + Human(time.Since(start))
	if len(c.workers) == 0 {
		took = "within " + Human(celery.DefaultWindow)
	}
	res := ok(&answered, details, "%d Celery worker%s answered %s: %s", len(names), plural(len(names)), took, strings.Join(names, ", "))
	if !c.stats {
		return res
	}
	stats, err := celery.Broadcast(ctx, c.broker, celery.Request{Namespace: c.namespace, Method: "stats", Workers: names})
	if err != nil {
		return fail("Celery workers answer, but stats failed: %s", c.secrets.scrub(describeErr(ctx, err)))
	}
	res.Details = map[string]any{"workers": details, "stats": c.workerStats(stats)}
	return res
}

// workerStats keeps the parts of `inspect stats` a status page shows:
// the pool, its processes, tasks run by name and in total, the broker
// (without its password), pid and uptime.
func (c *celeryWorkers) workerStats(replies celery.Replies) map[string]any {
	out := map[string]any{}
	for worker, raw := range replies {
		var st struct {
			Pool struct {
				Implementation string `json:"implementation"`
				MaxConcurrency int    `json:"max-concurrency"`
				Processes      []int  `json:"processes"`
			} `json:"pool"`
			Total  map[string]float64 `json:"total"`
			Broker struct {
				Transport string `json:"transport"`
				Hostname  string `json:"hostname"`
				Port      int    `json:"port"`
				VHost     string `json:"virtual_host"`
			} `json:"broker"`
			PID    int     `json:"pid"`
			Uptime float64 `json:"uptime"`
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			out[worker] = map[string]any{"error": "unreadable stats"}
			continue
		}
		var total float64
		for _, n := range st.Total {
			total += n
		}
		if st.Total == nil {
			st.Total = map[string]float64{}
		}
		if st.Pool.Processes == nil {
			st.Pool.Processes = []int{}
		}
		pool := map[string]any{"max_concurrency": st.Pool.MaxConcurrency, "processes": st.Pool.Processes}
		if st.Pool.Implementation != "" {
			pool["implementation"] = st.Pool.Implementation // prefork, eventlet…; solo has none
		}
		out[worker] = map[string]any{
			"pool":           pool,
			"tasks":          st.Total,
			"total_tasks":    total,
			"broker":         fmt.Sprintf("%s://%s:%d/%s", st.Broker.Transport, st.Broker.Hostname, st.Broker.Port, strings.TrimPrefix(st.Broker.VHost, "/")),
			"pid":            st.PID,
			"uptime_seconds": st.Uptime,
		}
	}
	return out
}

// redactURL is a URL without its user information, for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
