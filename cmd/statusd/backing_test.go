package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/exporter/probe/celery"
	"github.com/statusd/statusd/internal/testsvc"
)

// TestBackingServices runs every backing-service kind against the
// machine's real servers, as a user would: `statusd check health -e`, the
// checks API and /metrics, then stops memcached and the Celery worker.
func TestBackingServices(t *testing.T) {
	pg, my, redisURL, mq := testsvc.Postgres(t), testsvc.MySQL(t), testsvc.Redis(t), testsvc.AMQP(t)
	mc := testsvc.Memcached(t)
	ns := "statusd_e2e_" + fmt.Sprint(time.Now().UnixNano())
	worker := testsvc.StartCeleryWorker(t, mq, ns, "e2e", func(w string) bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r, _ := celery.Broadcast(ctx, mq, celery.Request{Namespace: ns, Method: "ping", Workers: []string{w}})
		return len(r) == 1
	})
	cfg := fmt.Sprintf(`
api: {fresh: anonymous, fresh_min_interval: 1s}
resources:
  health:
    - {name: postgres, kind: postgres, dsn: %[1]q, stats: true}
    - {name: mysql, kind: mysql, dsn: %[2]q, stats: true}
    - {name: redis, kind: redis, dsn: %[3]q, stats: true}
    - {name: memcached, kind: memcached, address: %[4]q, stats: true}
    - {name: celery, kind: celery, broker: %[5]q, namespace: %[6]s, workers: [%[7]s], stats: true, timeout: 3s}
    - {name: idle-in-transaction, kind: sql, dsn: %[1]q, query: "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'", warning: "value > 5"}
    - name: databases
      kind: databases
      databases: {default: {dsn: %[1]q}, legacy: {dsn: %[2]q}}
    - name: caches
      kind: caches
      caches: {default: {dsn: %[3]q}, pages: {dsn: "memcached://%[4]s"}}
`, pg, my, redisURL, mc.Addr, mq, ns, worker.Name)
	file := filepath.Join(t.TempDir(), "statusd.yml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	db := "sqlite:" + filepath.Join(t.TempDir(), "statusd.db")
	checkOnce := func() (int, map[string]map[string]map[string]any) {
		code, out, errOut := runCLI(t, "--config.file", file, "--storage.dsn", db, "check", "health", "-e", "-o", "json")
		var report map[string]map[string]map[string]any
		if err := json.Unmarshal([]byte(out), &report); err != nil {
			t.Fatalf("json output: %v\n%s\n%s", err, out, errOut)
		}
		return code, report
	}

	code, report := checkOnce()
	for name, r := range report["health"] {
		if r["level"] != "fine" {
			t.Errorf("%s: %v %v", name, r["level"], r["message"])
		}
	}
	if code != exitOK || len(report["health"]) != 8 {
		t.Fatalf("all up: exit %d, %d checks", code, len(report["health"]))
	}
	for _, name := range []string{"postgres", "mysql", "redis", "memcached"} {
		if d, _ := report["health"][name]["details"].(map[string]any); d["version"] == nil || d["uptime_seconds"] == nil {
			t.Errorf("%s shows no stats: %v", name, d)
		}
	}
	if st, _ := report["health"]["celery"]["details"].(map[string]any)["stats"].(map[string]any); st[worker.Name] == nil {
		t.Errorf("celery shows no stats: %v", report["health"]["celery"]["details"])
	}

	// The daemon shows the same through the API and /metrics.
	d := serve(t, file, db)
	eventually(t, "first runs", func() bool {
		code, _ := d.get(t, "/api/v1/checks/health")
		return code == 200
	})
	_, metrics := d.get(t, "/metrics")
	for _, name := range []string{"postgres", "mysql", "redis", "memcached", "celery", "idle-in-transaction", "databases", "caches"} {
		if want := fmt.Sprintf(`statusd_check_success{check=%q,resource="health"} 1`, name); !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, "Pa55") || strings.Contains(metrics, "guest:guest") {
		t.Error("/metrics shows a secret")
	}
	testsvc.PromtoolCheckMetrics(t, metrics)

	mc.Stop()
	worker.Stop()
	code, report = checkOnce()
	if code != exitFailed {
		t.Errorf("memcached and the worker stopped: exit %d", code)
	}
	for name, r := range report["health"] {
		broken := name == "memcached" || name == "celery" || name == "caches"
		if (r["level"] == "problem") != broken {
			t.Errorf("%s: %v %v", name, r["level"], r["message"])
		}
	}
	if msg := report["health"]["celery"]["message"].(string); !strings.HasPrefix(msg, "Celery worker "+worker.Name+" not running: no worker listens on amqp://127.0.0.1:") {
		t.Errorf("celery message %q", msg)
	}
	// A fresh request within a second of the last runs is answered from
	// them (api.fresh_min_interval, 1s here): ask until the runs are new.
	var body string
	eventually(t, "fresh runs to see the outage", func() bool {
		code, body = d.get(t, "/api/v1/checks/health?fresh=1")
		return code == 503 && strings.Count(body, `"level":"problem"`) == 3
	})
	if !strings.Contains(body, `"pages": false`) && !strings.Contains(body, `"pages":false`) {
		t.Errorf("API after the outage: %d %s", code, body)
	}
	_, metrics = d.get(t, "/metrics")
	for _, name := range []string{"memcached", "celery", "caches"} {
		if want := fmt.Sprintf(`statusd_check_level{check=%q,resource="health"} 2`, name); !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
