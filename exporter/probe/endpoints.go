package probe

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// endpoints checks several databases or caches at once and reports
// {name: true|false}, as django-status's databases and caches providers
// did; the check is at problem when one of them fails.
type endpoints struct {
	what   string // databases or caches
	names  []string
	checks map[string]func(context.Context) error
}

func newDatabases(_ status.CheckID, c *config.Check, env Env) (Prober, error) {
	e := &endpoints{what: "databases", checks: map[string]func(context.Context) error{}}
	for name, ep := range c.Databases.Databases {
		db, err := openDatabase(string(ep.DSN), env.Logger)
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", name, err)
		}
		e.checks[name] = func(ctx context.Context) error {
			conn, err := db.conn(ctx)
			if err == nil {
				var one int
				err = conn.QueryRowContext(ctx, "SELECT 1").Scan(&one)
				conn.Close()
			}
			if err != nil {
				return fmt.Errorf("%s", db.secrets.scrub(err.Error()))
			}
			return nil
		}
	}
	e.names = slices.Sorted(maps.Keys(e.checks))
	return e, nil
}

func newCaches(id status.CheckID, c *config.Check, _ Env) (Prober, error) {
	e := &endpoints{what: "caches", checks: map[string]func(context.Context) error{}}
	for name, ep := range c.Caches.Caches {
		dsn := string(ep.DSN)
		switch config.DSNScheme(dsn) {
		case "memcached":
			addr := strings.TrimPrefix(strings.TrimSuffix(dsn, "/"), "memcached://")
			key := memcachedKey(id)
			e.checks[name] = func(ctx context.Context) error {
				m, err := dialMemcached(ctx, addr)
				if err != nil {
					return err
				}
				defer m.Close()
				return memcachedRoundTrip(m, key)
			}
		default:
			opts, err := redisOptions(dsn)
			if err != nil {
				return nil, fmt.Errorf("cache %s: %w", name, err)
			}
			key, scrub := checkKey(id), secretsOf(dsn)
			e.checks[name] = func(ctx context.Context) error {
				c := redis.NewClient(opts)
				defer c.Close()
				if err := redisRoundTrip(ctx, c, key); err != nil {
					return fmt.Errorf("%s", scrub.scrub(err.Error()))
				}
				return nil
			}
		}
	}
	e.names = slices.Sorted(maps.Keys(e.checks))
	return e, nil
}

// Probe implements Prober: every endpoint at once, within the timeout.
func (e *endpoints) Probe(ctx context.Context) status.Result {
	start := time.Now()
	errs := make([]error, len(e.names))
	var wg sync.WaitGroup
	for i, name := range e.names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.checks[name](ctx)
		}()
	}
	wg.Wait()
	details := make(map[string]any, len(e.names))
	var broken []string
	for i, name := range e.names {
		details[name] = errs[i] == nil
		if errs[i] != nil {
			broken = append(broken, name+": "+describeErr(ctx, start, errs[i]))
		}
	}
	if len(broken) > 0 {
		r := fail("%d of %d %s failing: %s", len(broken), len(e.names), e.what, strings.Join(broken, "; "))
		r.Details = details
		return r
	}
	return ok(nil, details, "%d %s answer in %s", len(e.names), e.what, Human(time.Since(start)))
}
