package probe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
)

// redisServer checks Redis: PING, then a write, read and delete of a key
// in statusd's namespace (django-status wrote a test key to each cache;
// statusd also reads it back). With stats it reports INFO figures.
type redisServer struct {
	opts    *redis.Options
	secrets secrets
	key     string
	config.ServerStats
}

func newRedis(id status.CheckID, c *config.Check, _ Env) (Prober, error) {
	return newRedisServer(id, string(c.Redis.DSN), c.Redis.ServerStats)
}

func newRedisServer(id status.CheckID, dsn string, st config.ServerStats) (Prober, error) {
	opts, err := redisOptions(dsn)
	if err != nil {
		return nil, err
	}
	return &redisServer{opts: opts, secrets: secretsOf(dsn), key: checkKey(id), ServerStats: st}, nil
}

// redisOptions reads a redis:// or rediss:// URL for a client that opens
// one connection per run and never retries: a check reports what it sees.
func redisOptions(dsn string) (*redis.Options, error) {
	opts, err := redis.ParseURL(dsn)
	if err != nil {
		return nil, fmt.Errorf("invalid Redis DSN: %s", secretsOf(dsn).scrub(err.Error()))
	}
	opts.PoolSize = 1
	opts.MaxIdleConns = 0
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.ContextTimeoutEnabled = true // the check's timeout bounds every command
	// A check sends a few short commands on a connection it then closes:
	// go-redis's 32 KiB buffers would be most of what a run allocates.
	opts.ReadBufferSize, opts.WriteBufferSize = 4<<10, 1<<10
	opts.Protocol = 2
	opts.DisableIdentity = true
	return opts, nil
}

// checkKey is the key a check writes: in statusd's namespace, with a
// random part so that replicas running the same check do not collide.
func checkKey(id status.CheckID) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "statusd:check:" + id.String() + ":" + hex.EncodeToString(b)
}

// redisRoundTrip pings, writes, reads back and deletes key.
func redisRoundTrip(ctx context.Context, c *redis.Client, key string) error {
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("PING: %w", err)
	}
	want := strconv.FormatInt(time.Now().UnixNano(), 10)
	if err := c.Set(ctx, key, want, time.Minute).Err(); err != nil {
		return fmt.Errorf("SET: %w", err)
	}
	got, err := c.Get(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("GET: %w", err)
	}
	if got != want {
		return fmt.Errorf("GET returned %q, not what was written", got)
	}
	if err := c.Del(ctx, key).Err(); err != nil {
		return fmt.Errorf("DEL: %w", err)
	}
	return nil
}

// Probe implements Prober.
func (r *redisServer) Probe(ctx context.Context) status.Result {
	start := time.Now()
	c := redis.NewClient(r.opts)
	defer c.Close()
	if err := redisRoundTrip(ctx, c, r.key); err != nil {
		return fail("Redis at %s: %s", r.opts.Addr, r.secrets.scrub(describeErr(ctx, err)))
	}
	took := time.Since(start)
	res := ok(status.Float(took.Seconds()), nil, "Redis at %s answers in %s", r.opts.Addr, Human(took))
	if !r.ReadsStats() {
		return res
	}
	info, err := c.Info(ctx, "server", "clients", "memory", "stats").Result()
	if err != nil {
		return fail("Redis at %s answers, but INFO failed: %s", r.opts.Addr, r.secrets.scrub(describeErr(ctx, err)))
	}
	st := parseInfo(info)
	num := func(k string) float64 { f, _ := strconv.ParseFloat(st[k], 64); return f }
	hits, misses := num("keyspace_hits"), num("keyspace_misses")
	details := map[string]any{
		"version":           st["redis_version"],
		"used_memory":       num("used_memory"),
		"connected_clients": num("connected_clients"),
		"keyspace_hits":     hits,
		"keyspace_misses":   misses,
		"evicted_keys":      num("evicted_keys"),
		"uptime_seconds":    num("uptime_in_seconds"),
	}
	if r := hitRatio(hits, misses); r != nil {
		details["hit_ratio"] = *r
	}
	res.Details = details
	res.Message = fmt.Sprintf("Redis %s at %s answers in %s: %s used, %.0f clients", st["redis_version"], r.opts.Addr, Human(took), st["used_memory_human"], num("connected_clients"))
	return withValue(res, r.Value)
}

// parseInfo reads Redis INFO's "key:value" lines.
func parseInfo(info string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && !strings.HasPrefix(k, "#") {
			m[k] = v
		}
	}
	return m
}

// RedisLogger adapts slog for go-redis, whose logger is process-wide: main
// installs it with redis.SetLogger. go-redis logs what a check already
// reports (a failed dial), so it logs at debug level.
type RedisLogger struct{ Logger *slog.Logger }

// Printf implements go-redis's internal.Logging.
func (l RedisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.Logger.DebugContext(ctx, "go-redis", "msg", fmt.Sprintf(format, v...))
}
