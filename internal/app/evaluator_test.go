package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/statusd/statusd/internal/message"
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

// switchable is a target that answers 200 or 503.
func switchable(t *testing.T) (*httptest.Server, *atomic.Bool) {
	up := &atomic.Bool{}
	up.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, up
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
	_, m := d.get(t, "/metrics")
	for _, line := range strings.Split(m, "\n") {
		if strings.HasPrefix(line, `statusd_check_evaluated_level{check="api",resource="health"} `) {
			return strings.TrimPrefix(line, `statusd_check_evaluated_level{check="api",resource="health"} `)
		}
	}
	return ""
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
			srv, up := switchable(t)
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
			// The status change to partial outage and back was never
			// delivered (no notifier yet): it collapsed.
			assertOneOutage(t, dsn)
		})
	}
}

// Two statusd processes on one PostgreSQL watching the same outage write
// each notification once, and the service's changes and incident once.
func TestTwoProcessesOnePostgres(t *testing.T) {
	dsn := testsvc.Postgres(t)
	srv, up := switchable(t)
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
	want := []string{"alice instant", "alice resolved", "ops instant", "ops resolved"}
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

// statusd service set and clear, and statusd notify --dry-run.
func TestServiceAndNotifyCommands(t *testing.T) {
	srv, up := switchable(t)
	var mu sync.Mutex
	var received []string
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m message.Message
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		received = append(received, r.URL.Path+" "+string(m.Kind))
	}))
	t.Cleanup(hooks.Close)
	got := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := slices.Clone(received)
		slices.Sort(out)
		return out
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "statusd.yml")
	if err := os.WriteFile(file, []byte(outageConfigWithHooks(srv.URL, hooks.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := OneShotOptions{ConfigFile: file, StorageDSN: "sqlite:" + filepath.Join(dir, "statusd.db"), Logger: discard}
	run := func(fn func(out, errOut *strings.Builder) int) (int, string, string) {
		var out, errOut strings.Builder
		code := fn(&out, &errOut)
		return code, out.String(), errOut.String()
	}
	ctx := context.Background()
	major := status.MajorOutage

	code, out, errOut := run(func(o, e *strings.Builder) int { return ServiceCommand(ctx, "API", &major, "fire", opts, o, e) })
	if code != 0 || !strings.Contains(out, "API: operational → major_outage (set by hand until cleared)") || !strings.Contains(out, "ops") {
		t.Errorf("service set: %d %q %q", code, out, errOut)
	}
	code, _, errOut = run(func(o, e *strings.Builder) int { return ServiceCommand(ctx, "Nope", &major, "", opts, o, e) })
	if code != 1 || !strings.Contains(errOut, `no service "Nope"`) {
		t.Errorf("unknown service: %d %q", code, errOut)
	}

	// The check fails twice (failure_threshold 2): the second run of
	// notify instant notifies; a dry run before that says what it would.
	up.Store(false)
	if code, out, _ = run(func(o, e *strings.Builder) int { return NotifyOnce(ctx, "instant", opts, o, e) }); code != 0 || !strings.Contains(out, "Nothing to notify") {
		t.Errorf("first failure: %d %q", code, out)
	}
	dry := opts
	dry.DryRun = true
	code, out, _ = run(func(o, e *strings.Builder) int { return NotifyOnce(ctx, "instant", dry, o, e) })
	if code != 0 || !strings.Contains(out, "2 notifications would be written (dry run: nothing was)") || !strings.Contains(out, "alice:") ||
		!strings.Contains(out, "health/api") {
		t.Errorf("dry run: %d %q", code, out)
	}
	// The first run delivered the status change the manual status made.
	if r := got(); !slices.Equal(r, []string{"/ops status_change"}) {
		t.Errorf("delivered after the first run: %v", r)
	}
	code, out, _ = run(func(o, e *strings.Builder) int { return NotifyOnce(ctx, "instant", opts, o, e) })
	if code != 0 || !strings.Contains(out, "2 notifications written to the outbox") || !strings.Contains(out, "Delivered 2 notifications; 0 wait") {
		t.Errorf("second failure: %d %q", code, out)
	}
	if r := got(); !slices.Equal(r, []string{"/alice instant", "/ops instant", "/ops status_change"}) {
		t.Errorf("delivered after the second run: %v", r)
	}
	code, out, _ = run(func(o, e *strings.Builder) int { return NotifyOnce(ctx, "instant", opts, o, e) })
	if code != 0 || !strings.Contains(out, "Nothing to notify") {
		t.Errorf("third failure repeated a notification: %d %q", code, out)
	}
	code, out, _ = run(func(o, e *strings.Builder) int { return NotifyOnce(ctx, "digest", dry, o, e) })
	if code != 0 || !strings.Contains(out, "digest") || !strings.Contains(out, "health/api") {
		t.Errorf("digest dry run: %d %q", code, out)
	}

	// The manual status wins over the failing check until cleared.
	code, out, _ = run(func(o, e *strings.Builder) int { return ServiceCommand(ctx, "API", nil, "", opts, o, e) })
	if code != 0 || !strings.Contains(out, "API: major_outage → partial_outage (from its checks again)") {
		t.Errorf("service clear: %d %q", code, out)
	}
	st, err := store.Open(ctx, opts.StorageDSN, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, _ := st.ServiceHistory(ctx, "API", 10)
	causes := make([]string, len(h))
	for i, c := range h {
		causes[i] = fmt.Sprintf("%s→%s:%s:%s", status.ServiceStatus(c.Old), status.ServiceStatus(c.New), c.Cause, c.Reason)
	}
	if len(h) != 2 || causes[1] != "operational→major_outage:manual:fire" || causes[0] != "major_outage→partial_outage:manual:manual status cleared" {
		t.Errorf("history: %v", causes)
	}
	rows, _ := st.Outbox(ctx, store.OutboxPending)
	var changes []string
	for _, r := range rows {
		if r.Kind == "status_change" {
			var m struct {
				Service struct{ From, To string }
			}
			_ = json.Unmarshal([]byte(r.Payload), &m)
			changes = append(changes, m.Service.From+"→"+m.Service.To)
		}
	}
	// The change the clear made waits for the next delivery.
	if len(changes) != 1 || changes[0] != "major_outage→partial_outage" {
		t.Errorf("pending status change notifications: %v", changes)
	}
}
