package app

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/testsvc"
)

// A database that is away is a state: statusd starts and serves without
// it, connects and migrates when it comes, writes the history it kept,
// and survives it going away again with nothing lost and one log line.
func TestDatabaseAway(t *testing.T) {
	pg := testsvc.NewPostgresServer(t) // not started yet
	srv, _ := testsvc.Target(t)
	file := filepath.Join(t.TempDir(), "statusd.yml")
	cfg := "storage: {results_interval: 0s}\nresources:\n  health:\n" +
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
