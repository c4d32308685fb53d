package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/testsvc"
	"github.com/statusd/statusd/notifier/notifytest"
)

// A database that is away is a state: statusd starts and serves without
// it, connects and migrates when it comes, writes the history it kept,
// and survives it going away again with nothing lost and one log line.
func TestDatabaseAway(t *testing.T) {
	pg := testsvc.NewPostgresServer(t) // not started yet
	srv, _ := testsvc.Target(t)
	file := filepath.Join(t.TempDir(), "statusd.yml")
	cfg := "api: {fresh: anonymous}\nstorage: {results_interval: 0s}\nresources:\n  health:\n" +
		"    - {name: api, kind: http, url: \"" + srv.URL + "\", interval: 1s, timeout: 500ms}\n" +
		"    - {name: storage, kind: storage, interval: 1s, timeout: 500ms}\n"
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testsvc.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, Options{
		ConfigFile:      file,
		StorageDSN:      pg.DSN(),
		ListenAddresses: []string{"127.0.0.1:0"},
		Logger:          slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		cancel()
		t.Fatalf("statusd did not start without its database: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	d := &daemon{url: "http://" + a.Addrs()[0].String(), app: a}
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	api := status.CheckID{Resource: "health", Check: "api"}
	runsOf := func(id status.CheckID) uint64 {
		c, _ := a.exporter.Check(id)
		return c.Runs()
	}

	// Everything serves while the database is away.
	for path, want := range map[string]string{"/-/ready": "Ready.", "/api/v1/checks/health/api?fresh=1": `"level":"fine"`} {
		if code, body := d.get(t, path); code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("%s without the database: %d %s", path, code, body)
		}
	}
	eventually(t, "the storage check to see the database away", func() bool {
		_, m := d.get(t, "/metrics")
		return strings.Contains(m, "statusd_store_up 0") && strings.Contains(m, `statusd_check_level{check="storage",resource="health"} 2`)
	})
	eventually(t, "results to pile up", func() bool { return runsOf(api) >= 3 })
	before := runsOf(api)

	pg.Start()
	eventually(t, "the store to connect", func() bool { return logs.Count("Store ready") == 1 })
	eventually(t, "the kept history to be written", func() bool {
		res, err := a.store.Results(context.Background(), api, 1000)
		return err == nil && uint64(len(res)) >= before
	})

	// It goes away again mid-run.
	pg.Stop()
	mark := runsOf(api)
	eventually(t, "writes to fail", func() bool { return logs.Count("Writing check history failed") == 1 })
	eventually(t, "checks to go on", func() bool { return runsOf(api) >= mark+3 })
	if code, _ := d.get(t, "/api/v1/checks/health/api"); code != http.StatusOK {
		t.Errorf("the API during the outage: %d", code)
	}
	pg.Start()
	eventually(t, "writes to resume", func() bool { return logs.Count("Writing check history resumed") == 1 })
	stop()

	// Nothing lost: every run is a stored result and counted in the rollups.
	st, err := store.Open(context.Background(), pg.DSN(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	results, err := st.Results(context.Background(), api, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if runs := runsOf(api); uint64(len(results)) != runs {
		t.Errorf("%d runs, %d results stored", runs, len(results))
	}
	for _, line := range []string{"The database does not answer", "Writing check history failed", "Writing check history resumed"} {
		if n := logs.Count(line); n != 1 {
			t.Errorf("%q logged %d times, want once:\n%s", line, n, logs)
		}
	}
	if n := logs.Count("still"); n != 0 {
		t.Errorf("a short outage was logged again:\n%s", logs)
	}
}

// While the database is away, the page, the summary and the metrics
// follow the checks from the evaluator's memory; when it returns, what
// changed meanwhile is written in order: history, the automatic incident
// and the notifications, each once.
func TestServicesFollowChecksWhileDatabaseAway(t *testing.T) {
	pg := testsvc.NewPostgresServer(t)
	pg.Start()
	srv, up := testsvc.Target(t)
	hooks := notifytest.NewHook(t)
	file := filepath.Join(t.TempDir(), "statusd.yml")
	if err := os.WriteFile(file, []byte(`
defaults: {failure_threshold: 1}
resources:
  health:
    - {name: api, kind: http, url: "`+srv.URL+`", interval: 1s, timeout: 500ms}
services:
  - {name: API, checks: [health/api], auto_incident: true, notify: {receivers: [ops]}}
receivers:
  ops: {webhook: {url: "`+hooks.URL+`"}}
notifier: {group_wait: 1s, retry_min: 100ms, retry_max: 200ms}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testsvc.Buffer{}
	d := startOptions(t, file, pg.DSN(), logs, nil)
	defer func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs)
			for _, state := range []string{"pending", "sent", "collapsed", "failed"} {
				rows, _ := d.app.store.Outbox(context.Background(), state)
				for _, r := range rows {
					t.Logf("%s %s %q %s", state, r.Kind, r.LastError, r.Payload)
				}
			}
		}
	}()
	service := func() string {
		_, body := d.get(t, "/api/v1/summary")
		var s struct {
			Services []struct{ Status string } `json:"services"`
		}
		if json.Unmarshal([]byte(body), &s) != nil || len(s.Services) != 1 {
			return ""
		}
		return s.Services[0].Status
	}
	metric := func(want string) func() bool {
		return func() bool {
			_, m := d.get(t, "/metrics")
			return strings.Contains(m, `statusd_service_status{group="",service="API"} `+want)
		}
	}
	eventually(t, "the service to be operational", func() bool { return service() == "operational" })

	pg.Stop()
	eventually(t, "statusd to see the database away", func() bool {
		_, m := d.get(t, "/metrics")
		return strings.Contains(m, "statusd_store_up 0")
	})
	up.Store(false)
	eventually(t, "the summary to follow the outage", func() bool { return service() == "partial_outage" })
	eventually(t, "the metric to follow it", metric("2"))
	eventually(t, "the page to follow it", func() bool {
		_, page := d.get(t, "/")
		return strings.Contains(page, "partial outage")
	})
	up.Store(true)
	eventually(t, "the summary to follow the recovery", func() bool { return service() == "operational" })
	eventually(t, "the metric to follow it", metric("0"))

	pg.Start()
	eventually(t, "the decisions to be written", func() bool {
		return len(d.app.evaluator.Unwritten()) == 0
	})
	// The notifier composes what waited: an outage that came and went
	// before it could be told is two rows, collapsed into nothing to
	// send.
	eventually(t, "the outbox to be settled", func() bool {
		rows, err := d.app.store.Outbox(context.Background(), store.OutboxCollapsed)
		return err == nil && len(rows) == 2
	})
	d.stop()
	if n := len(hooks.Requests()); n != 0 {
		t.Errorf("%d notifications sent for an outage that was over", n)
	}

	st, err := store.Open(context.Background(), pg.DSN(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	history, err := st.ServiceHistory(context.Background(), "API", 10)
	if err != nil || len(history) != 2 || history[1].New != int(status.PartialOutage) || history[0].New != int(status.Operational) ||
		!history[1].At.Before(history[0].At) {
		t.Errorf("history: %+v %v", history, err)
	}
	incs, _, err := st.Incidents(context.Background(), store.IncidentQuery{})
	if err != nil || len(incs) != 1 || !incs[0].Closed || len(incs[0].Updates) != 2 {
		t.Errorf("incidents: %+v %v", incs, err)
	}
	rows, err := st.Outbox(context.Background(), store.OutboxCollapsed)
	if err != nil || len(rows) != 2 || rows[0].Kind != "status_change" || !strings.Contains(rows[0].Payload+rows[1].Payload, `"to":"partial_outage"`) {
		t.Errorf("outbox: %+v %v", rows, err)
	}
	if pending, _ := st.Outbox(context.Background(), store.OutboxPending); len(pending) != 0 {
		t.Errorf("pending: %+v", pending)
	}
}

// migratedPages is how many pages a freshly migrated SQLite database
// takes.
func migratedPages(t *testing.T) int {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pages.db")
	st, err := store.Open(ctx, "sqlite:"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Migrate(ctx)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A full disk: the database answers but statusd's writes fail. The
// storage check goes to warning at once, then to problem past its
// thresholds, as statusd_store_up goes to 0.
func TestStorageCheckOnAFullDisk(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "statusd.yml")
	if err := os.WriteFile(file, []byte(`
storage: {results_interval: 0s}
resources:
  health:
    - {name: storage, kind: storage, interval: 1s, timeout: 500ms, failing_problem: 3s}
  load:
`+pings(40)), 0o600); err != nil {
		t.Fatal(err)
	}
	// A database one page larger than the migrated schema: the migrations
	// fit, a few seconds of history do not.
	logs := &testsvc.Buffer{}
	pages := migratedPages(t) + 1
	d := startOptions(t, file, fmt.Sprintf("sqlite:%s?_pragma=max_page_count(%d)", filepath.Join(dir, "statusd.db"), pages), logs, nil)
	defer func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs)
		}
	}()
	level := func() string {
		_, m := d.get(t, "/metrics")
		for _, line := range strings.Split(m, "\n") {
			if strings.HasPrefix(line, `statusd_check_level{check="storage",resource="health"} `) {
				return strings.TrimPrefix(line, `statusd_check_level{check="storage",resource="health"} `)
			}
		}
		return ""
	}
	eventually(t, "the disk to fill and the storage check to warn", func() bool { return level() == "1" })
	_, body := d.get(t, "/api/v1/checks/health/storage")
	if !strings.Contains(body, "writing to it has failed for") {
		t.Errorf("storage check: %s", body)
	}
	eventuallyWithin(t, 30*time.Second, "the storage check to reach problem", func() bool { return level() == "2" })
	if _, m := d.get(t, "/metrics"); !strings.Contains(m, "statusd_store_up 0") {
		t.Error("statusd_store_up is not 0 while writes fail")
	}
}

// pings is a config's list of n ping checks run every second.
func pings(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "    - {name: ping%d, kind: ping, interval: 1s}\n", i)
	}
	return b.String()
}
