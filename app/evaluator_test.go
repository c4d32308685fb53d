package app

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/testsvc"
)

// outageDaemonConfig watches a target with an instant check behind a
// service that opens incidents; its receivers are webhooks under hooks.
func outageDaemonConfig(url string) string {
	return outageConfigWithHooks(url, "https://hooks.example")
}

func outageConfigWithHooks(url, hooks string) string {
	return `
site: {name: ACME, url: "https://status.acme.example"}
defaults: {failure_threshold: 2, success_threshold: 1}
resources:
  health:
    - name: api
      kind: http
      url: "` + url + `"
      interval: 1s
      timeout: 500ms
      notify: {receivers: [ops, alice], mode: instant}
groups:
  - {name: Website}
services:
  - {name: API, group: Website, checks: [health/api], auto_incident: true, notify: {receivers: [ops]}}
receivers:
  ops: {webhook: {url: "` + hooks + `/ops"}}
  alice: {webhook: {url: "` + hooks + `/alice"}}
notifier: {group_wait: 1m, retry_min: 1m}
`
}

// outboxKinds lists the outbox rows as "receiver kind", sorted.
func outboxKinds(t *testing.T, st *store.Store) []string {
	t.Helper()
	var out []string
	for _, state := range []string{store.OutboxPending, store.OutboxSent, store.OutboxSuppressed} {
		rows, err := st.Outbox(context.Background(), state)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out = append(out, r.Receiver+" "+r.Kind)
		}
	}
	slices.Sort(out)
	return out
}

func evaluatedLevel(t *testing.T, d *daemon) string {
	return evaluatedLevelOf(t, d, "api")
}

// A target down for a while and back, with a restart of statusd in the
// middle, yields exactly one problem notification per receiver, one
// recovery per receiver, one service change to partial outage and back,
// and one automatic incident, opened and resolved.
func TestOutageEndToEnd(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "statusd.db")
			if backend == "postgres" {
				dsn = testsvc.Postgres(t)
			}
			srv, up := testsvc.Target(t)
			file := filepath.Join(t.TempDir(), "statusd.yml")
			if err := os.WriteFile(file, []byte(outageDaemonConfig(srv.URL)), 0o600); err != nil {
				t.Fatal(err)
			}
			d := startWith(t, file, dsn)
			eventually(t, "the check to be evaluated fine", func() bool { return evaluatedLevel(t, d) == "0" })

			up.Store(false)
			eventually(t, "the outage to be notified", func() bool { return len(outboxKinds(t, d.app.store)) >= 2 })
			// statusd restarts during the outage.
			d.stop()
			d = startWith(t, file, dsn)
			api := status.CheckID{Resource: "health", Check: "api"}
			eventually(t, "two runs after the restart", func() bool {
				c, _ := d.app.exporter.Check(api)
				return c.Runs() >= 2
			})
			up.Store(true)
			eventually(t, "the recovery", func() bool { return evaluatedLevel(t, d) == "0" && len(outboxKinds(t, d.app.store)) >= 4 })
			eventually(t, "the page to show it", func() bool {
				code, body := d.get(t, "/api/v1/services/API/history")
				return code == 200 && strings.Count(body, `"cause":"checks"`) == 2
			})
			d.stop()
			// The status change to partial outage and back waits in the
			// outbox (group_wait is a minute): two rows, which the
			// notifier composes into nothing to tell.
			assertOneOutage(t, dsn)
		})
	}
}

// Two statusd processes on one PostgreSQL watching the same outage write
// each notification once, and the service's changes and incident once.
func TestTwoProcessesOnePostgres(t *testing.T) {
	dsn := testsvc.Postgres(t)
	srv, up := testsvc.Target(t)
	file := filepath.Join(t.TempDir(), "statusd.yml")
	if err := os.WriteFile(file, []byte(outageDaemonConfig(srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startWith(t, file, dsn)
	b := startWith(t, file, dsn)
	for _, d := range []*daemon{a, b} {
		eventually(t, "both to evaluate the check", func() bool { return evaluatedLevel(t, d) == "0" })
	}
	up.Store(false)
	for _, d := range []*daemon{a, b} {
		eventually(t, "both to see the outage", func() bool { return evaluatedLevel(t, d) == "2" })
	}
	up.Store(true)
	for _, d := range []*daemon{a, b} {
		eventually(t, "both to see the recovery", func() bool { return evaluatedLevel(t, d) == "0" })
	}
	a.stop()
	b.stop()
	assertOneOutage(t, dsn)
}

// assertOneOutage checks what one outage of the target left in the store:
// a problem and a recovery notification per receiver, a change of the
// service to partial outage and back, and one automatic incident, opened
// and resolved — no more, no fewer.
func assertOneOutage(t *testing.T, dsn string) {
	t.Helper()
	st, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := []string{"alice instant", "alice resolved", "ops instant", "ops resolved", "ops status_change", "ops status_change"}
	if got := outboxKinds(t, st); !slices.Equal(got, want) {
		t.Errorf("outbox: %v, want %v", got, want)
	}
	history, err := st.ServiceHistory(context.Background(), "API", 100)
	if err != nil || len(history) != 2 || history[1].New != int(status.PartialOutage) || history[0].New != int(status.Operational) {
		t.Errorf("history: %+v %v", history, err)
	}
	incs, _, err := st.Incidents(context.Background(), store.IncidentQuery{})
	if err != nil || len(incs) != 1 || !incs[0].Closed || !incs[0].Automatic || len(incs[0].Updates) != 2 {
		t.Errorf("incidents: %+v %v", incs, err)
	}
}
