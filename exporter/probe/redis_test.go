package probe

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/testsvc"
)

// statusdKeys lists the keys the checks left behind in a Redis database.
func statusdKeys(t *testing.T, url string) []string {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	keys, err := c.Keys(context.Background(), "statusd:check:test/redis*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestRedis(t *testing.T) {
	url := testsvc.Redis(t)

	r := run(t, `{name: redis, kind: redis, dsn: "`+url+`"}`, Env{})
	wantLevel(t, r, status.Fine, true)
	if r.Value == nil || *r.Value <= 0 || !status.NoDetails(r.Details) || !strings.HasPrefix(r.Message, "Redis at 127.0.0.1:") {
		t.Errorf("health only: value %v details %v message %q", r.Value, r.Details, r.Message)
	}

	r = run(t, `{name: redis, kind: redis, dsn: "`+url+`", stats: true, value: used_memory}`, Env{})
	wantLevel(t, r, status.Fine, true)
	d := figures(r)
	if v, _ := d["version"].(string); v == "" || d["used_memory"].(float64) <= 0 || d["connected_clients"].(float64) < 1 ||
		d["uptime_seconds"].(float64) <= 0 {
		t.Errorf("stats: %v", d)
	}
	// The round trip reads its own key, so there has been a hit.
	if hr, ok := d["hit_ratio"].(float64); !ok || hr <= 0 || hr > 1 {
		t.Errorf("hit_ratio %v", d["hit_ratio"])
	}
	if r.Value == nil || *r.Value != d["used_memory"].(float64) {
		t.Errorf("value = %v, want used_memory %v", r.Value, d["used_memory"])
	}
	if keys := statusdKeys(t, url); len(keys) != 0 {
		t.Errorf("the check left keys behind: %v", keys)
	}

	// A user whose ACL allows only reads fails the write, by name.
	user := testsvc.RedisUser(t, "Rd-pass-1", "~*", "+@read", "+ping", "+info")
	r = run(t, `{name: redis, kind: redis, dsn: "`+user+`"}`, Env{})
	wantLevel(t, r, status.Problem, false)
	if !strings.Contains(r.Message, "SET: NOPERM") {
		t.Errorf("read-only user: %q", r.Message)
	}
	wantNoSecret(t, r, "Rd-pass-1")
}

func TestRedisBroken(t *testing.T) {
	t.Run("wrong password", func(t *testing.T) {
		good := testsvc.RedisUser(t, "Rd-pass-1", "~*", "+@all")
		r := run(t, `{name: redis, kind: redis, dsn: "`+good+`"}`, Env{})
		wantLevel(t, r, status.Fine, true)
		r = run(t, `{name: redis, kind: redis, dsn: "`+strings.Replace(good, "Rd-pass-1", "Wr0ng-pass", 1)+`"}`, Env{})
		wantLevel(t, r, status.Problem, false)
		if !strings.Contains(r.Message, "WRONGPASS") {
			t.Errorf("message %q", r.Message)
		}
		wantNoSecret(t, r, "Wr0ng-pass", "Rd-pass-1")
	})
	t.Run("server down", func(t *testing.T) {
		r := run(t, `{name: redis, kind: redis, dsn: "redis://:Wr0ng-pass@`+closedAddr(t)+`/0"}`, Env{})
		wantLevel(t, r, status.Problem, false)
		if !strings.Contains(r.Message, "PING") || !strings.Contains(r.Message, "refused") {
			t.Errorf("message %q", r.Message)
		}
		wantNoSecret(t, r, "Wr0ng-pass")
	})
	t.Run("hung server", func(t *testing.T) {
		r := wantTimely(t, `{name: redis, kind: redis, timeout: 1s, dsn: "redis://:Wr0ng-pass@`+blackHole(t)+`/0"}`)
		wantNoSecret(t, r, "Wr0ng-pass")
	})
}

func TestMemcached(t *testing.T) {
	addr := testsvc.Memcached(t).Addr

	r := run(t, `{name: mc, kind: memcached, address: "`+addr+`"}`, Env{})
	wantLevel(t, r, status.Fine, true)
	if r.Value == nil || *r.Value <= 0 || !status.NoDetails(r.Details) {
		t.Errorf("health only: value %v details %v", r.Value, r.Details)
	}

	r = run(t, `{name: mc, kind: memcached, address: "`+addr+`", stats: true, value: hit_ratio}`, Env{})
	wantLevel(t, r, status.Fine, true)
	d := figures(r)
	if v, _ := d["version"].(string); v == "" || d["curr_connections"].(float64) < 1 || d["limit_maxbytes"].(float64) != 16<<20 ||
		d["get_hits"].(float64) != 2 || d["curr_items"].(float64) != 0 {
		t.Errorf("stats after two round trips: %v", d)
	}
	if r.Value == nil || *r.Value != 1 {
		t.Errorf("value = %v, want the hit ratio 1", r.Value)
	}
}

func TestMemcachedBroken(t *testing.T) {
	t.Run("server stops", func(t *testing.T) {
		mc := testsvc.Memcached(t)
		addr := mc.Addr
		wantLevel(t, run(t, `{name: mc, kind: memcached, address: "`+addr+`"}`, Env{}), status.Fine, true)
		mc.Stop()
		r := run(t, `{name: mc, kind: memcached, address: "`+addr+`"}`, Env{})
		wantLevel(t, r, status.Problem, false)
		if !strings.Contains(r.Message, "memcached at "+addr) || !strings.Contains(r.Message, "refused") {
			t.Errorf("message %q", r.Message)
		}
	})
	t.Run("hung server", func(t *testing.T) {
		wantTimely(t, `{name: mc, kind: memcached, timeout: 1s, address: "`+blackHole(t)+`"}`)
	})
	t.Run("not memcached", func(t *testing.T) {
		// A Redis server answers the set command with an error.
		opts, err := redis.ParseURL(testsvc.Redis(t))
		if err != nil {
			t.Fatal(err)
		}
		r := run(t, `{name: mc, kind: memcached, timeout: 1s, address: "`+opts.Addr+`"}`, Env{})
		wantLevel(t, r, status.Problem, false)
		if !strings.Contains(r.Message, "is this memcached?") {
			t.Errorf("message %q", r.Message)
		}
	})
}
