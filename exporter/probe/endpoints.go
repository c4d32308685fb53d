package probe

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// endpoints checks several databases or caches at once and reports
// {name: true|false}, as django-status's databases and caches providers
// did; the check is at problem when one of them fails. Each endpoint is
// the health part of its server's own kind.
type endpoints struct {
	what    string // databases or caches
	names   []string
	probers map[string]Prober
}

// healthOnly asks a server kind for its health, without stats.
var healthOnly = config.ServerStats{Value: "latency"}

func newDatabases(_ status.CheckID, c *config.Check, env Env) (Prober, error) {
	e := &endpoints{what: "databases", probers: map[string]Prober{}}
	for name, ep := range c.Databases.Databases {
		p, err := newSQLServer(string(ep.DSN), healthOnly, env)
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", name, err)
		}
		e.probers[name] = p
	}
	e.names = slices.Sorted(maps.Keys(e.probers))
	return e, nil
}

func newCaches(id status.CheckID, c *config.Check, _ Env) (Prober, error) {
	e := &endpoints{what: "caches", probers: map[string]Prober{}}
	for name, ep := range c.Caches.Caches {
		dsn := string(ep.DSN)
		if config.DSNScheme(dsn) == "memcached" {
			addr := strings.TrimPrefix(strings.TrimSuffix(dsn, "/"), "memcached://")
			e.probers[name] = newMemcachedServer(id, addr, healthOnly)
			continue
		}
		p, err := newRedisServer(id, dsn, healthOnly)
		if err != nil {
			return nil, fmt.Errorf("cache %s: %w", name, err)
		}
		e.probers[name] = p
	}
	e.names = slices.Sorted(maps.Keys(e.probers))
	return e, nil
}

// Probe implements Prober: every endpoint at once, within the timeout.
func (e *endpoints) Probe(ctx context.Context) status.Result {
	start := time.Now()
	results := make([]status.Result, len(e.names))
	var wg sync.WaitGroup
	for i, name := range e.names {
		wg.Go(func() { results[i] = e.probers[name].Probe(ctx) })
	}
	wg.Wait()
	details := make(map[string]any, len(e.names))
	var broken []string
	for i, name := range e.names {
		details[name] = results[i].Success
		if !results[i].Success {
			broken = append(broken, name+": "+results[i].Message)
		}
	}
	if len(broken) > 0 {
		r := fail("%d of %d %s failing: %s", len(broken), len(e.names), e.what, strings.Join(broken, "; "))
		r.Details = details
		return r
	}
	return ok(nil, details, "%d %s answer in %s", len(e.names), e.what, Human(time.Since(start)))
}
