package main

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
	"testing"
	"time"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/testsvc"
)

func TestCheckOnce(t *testing.T) {
	srv, up := testsvc.Target(t)
	file := filepath.Join(t.TempDir(), "statusd.yml")
	cfg := "resources:\n  health:\n    - {name: ping, kind: ping}\n    - {name: api, kind: http, url: \"" + srv.URL + "\", problem: \"value > 5\"}\n  stats:\n    - {name: code, kind: build}\n"
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	db := "sqlite:" + filepath.Join(t.TempDir(), "none.db")
	check := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, append([]string{"--config.file", file, "--storage.dsn", db, "check"}, args...)...)
	}

	code, out, _ := check("health", "-e")
	ls := lines(out)
	if code != exitOK || len(ls) != 3 || !strings.HasPrefix(ls[0], "CHECK") || !strings.HasPrefix(ls[1], "health/ping") ||
		!strings.Contains(ls[2], "health/api") || !strings.Contains(ls[2], "fine") {
		t.Errorf("all up: exit %d\n%s", code, out)
	}
	up.Store(false)
	code, out, _ = check("health", "--exit-code")
	if code != exitFailed || !strings.Contains(out, "problem") || !strings.Contains(out, "HTTP 503") {
		t.Errorf("api down with -e: exit %d\n%s", code, out)
	}
	if code, _, _ = check("health"); code != exitOK {
		t.Errorf("api down without -e: exit %d", code)
	}
	code, out, _ = check("health", "ping", "-e", "-o", "json")
	var report map[string]map[string]any
	if err := json.Unmarshal([]byte(out), &report); code != exitOK || err != nil || report["health"]["ping"] == nil || len(report["health"]) != 1 {
		t.Errorf("json: exit %d %v\n%s", code, err, out)
	}
	code, out, _ = check("stats", "-o", "yaml")
	if code != exitOK || !strings.HasPrefix(out, "stats:\n  code:\n    level: fine\n") {
		t.Errorf("yaml: exit %d\n%s", code, out)
	}
	code, out, _ = check()
	if code != exitOK || strings.Contains(out, "\x1b[") || !strings.Contains(out, "stats/code") {
		t.Errorf("text to a file: exit %d %q", code, out)
	}
	code, _, errOut := check("nope")
	if code != exitUsage || !strings.Contains(errOut, "resource nope not found") {
		t.Errorf("unknown resource: exit %d %s", code, errOut)
	}
}

// On a terminal, levels are coloured.
func TestCheckOutputColour(t *testing.T) {
	var b strings.Builder
	report := status.Report{{Name: "health", Checks: []status.CheckReport{{Name: "api", Result: status.Result{Level: status.Problem, Message: "down"}}}}}
	if err := writeReport(&b, report, "text", true); err != nil || !strings.Contains(b.String(), "\x1b[31mproblem\x1b[0m") {
		t.Errorf("colour text: %v %q", err, b.String())
	}
}

// The config the docker-compose stack runs passes statusd config check
// (the examples, which name secret files, are checked in
// internal/config's tests).
func TestShippedConfigs(t *testing.T) {
	for _, f := range []string{"../../deploy/statusd/statusd.yml"} {
		if code, out, errOut := runCLI(t, "config", "check", f); code != 0 || !strings.Contains(out, "valid") {
			t.Errorf("statusd config check %s: exit %d\n%s%s", f, code, out, errOut)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	_ = os.WriteFile(good, []byte("resources:\n  health:\n    - {name: ping, kind: ping}\n    - {name: job, kind: heartbeat}\n"), 0o600)
	if code, out, errOut := runCLI(t, "config", "check", good); code != 0 || !strings.Contains(out, "good.yml: valid (1 resources, 2 checks, 0 services, 0 receivers)") ||
		!strings.Contains(out, "warning: heartbeat check health/job has no token") {
		t.Errorf("good config: %d %s %s", code, out, errOut)
	}
	bad := filepath.Join(dir, "bad.yml")
	_ = os.WriteFile(bad, []byte("site:\n  nmae: x\nresources:\n  health:\n    - {name: a, kind: tcp, address: nohost}\n    - {name: b, kind: ping, timeout: 1m}\n"), 0o600)
	code, _, errOut := runCLI(t, "config", "check", bad)
	ls := lines(errOut)
	if code != 1 || len(ls) != 3 || !strings.HasPrefix(ls[0], bad+":2: site.nmae: unknown field") ||
		!strings.HasPrefix(ls[1], bad+":5: resources.health[0].address") || !strings.HasPrefix(ls[2], bad+":6: resources.health[1].timeout") {
		t.Errorf("bad config: exit %d\n%s", code, errOut)
	}

	// Every wrong reference, with its line.
	refs := filepath.Join(dir, "refs.yml")
	_ = os.WriteFile(refs, []byte(`resources:
  health:
    - {name: api, kind: ping, notify: {receivers: [opps]}}
services:
  - name: API
    group: Web
    checks: [health/apii]
receivers:
  ops: {webhook: {url: "https://hooks.example/"}}
`), 0o600)
	code, _, errOut = runCLI(t, "config", "check", refs)
	for _, want := range []string{
		refs + `:3: resources.health[0].notify.receivers[0]: unknown receiver "opps" (known: ops)`,
		refs + `:6: services[0].group: unknown group "Web" (none is defined)`,
		refs + `:7: services[0].checks[0]: unknown check health/apii`,
	} {
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("wrong references: exit %d, want %q in\n%s", code, want, errOut)
		}
	}
}

// statusd service set and clear, and statusd notify --dry-run.
func TestServiceAndNotifyCommands(t *testing.T) {
	srv, up := testsvc.Target(t)
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
	if err := os.WriteFile(file, []byte(instantConfig(srv.URL, hooks.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := "sqlite:" + filepath.Join(dir, "statusd.db")
	statusd := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, append([]string{"--config.file", file, "--storage.dsn", dsn}, args...)...)
	}
	ctx := context.Background()

	code, out, errOut := statusd("service", "set", "API", "major_outage", "--reason", "fire")
	if code != 0 || !strings.Contains(out, "API: operational → major_outage (set by hand until cleared)") || !strings.Contains(out, "ops") {
		t.Errorf("service set: %d %q %q", code, out, errOut)
	}
	code, _, errOut = statusd("service", "set", "Nope", "major_outage")
	if code != 1 || !strings.Contains(errOut, `no service "Nope"`) {
		t.Errorf("unknown service: %d %q", code, errOut)
	}

	// The check fails twice (failure_threshold 2): the second run of
	// notify instant notifies; a dry run before that says what it would.
	up.Store(false)
	if code, out, _ = statusd("notify", "instant"); code != 0 || !strings.Contains(out, "Nothing to notify") {
		t.Errorf("first failure: %d %q", code, out)
	}
	code, out, _ = statusd("notify", "instant", "--dry-run")
	if code != 0 || !strings.Contains(out, "2 notifications would be written (dry run: nothing was)") || !strings.Contains(out, "alice:") ||
		!strings.Contains(out, "health/api") {
		t.Errorf("dry run: %d %q", code, out)
	}
	// The first run delivered the status change the manual status made.
	if r := got(); !slices.Equal(r, []string{"/ops status_change"}) {
		t.Errorf("delivered after the first run: %v", r)
	}
	code, out, _ = statusd("notify", "instant")
	if code != 0 || !strings.Contains(out, "2 notifications written to the outbox") || !strings.Contains(out, "Delivered 2 notifications; 0 wait") {
		t.Errorf("second failure: %d %q", code, out)
	}
	if r := got(); !slices.Equal(r, []string{"/alice instant", "/ops instant", "/ops status_change"}) {
		t.Errorf("delivered after the second run: %v", r)
	}
	code, out, _ = statusd("notify", "instant")
	if code != 0 || !strings.Contains(out, "Nothing to notify") {
		t.Errorf("third failure repeated a notification: %d %q", code, out)
	}
	if _, out, _ = statusd("notify", "instant"); !strings.Contains(out, "1 checks notified instantly ran.") {
		t.Errorf("notify instant ran other checks than the instant one: %q", out)
	}
	code, out, errOut = statusd("notify", "digest", "--dry-run")
	if code != 0 || !strings.Contains(out, "2 checks told in digests ran.") || !strings.Contains(out, "2 notifications would be written") ||
		!strings.Contains(out, "health/api") {
		t.Errorf("digest dry run: %d %q %q", code, out, errOut)
	}
	// The instant runs stored their results: a digest says why the
	// check is at problem.
	{
		st, err := store.Open(ctx, dsn, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		latest, err := st.LatestResults(ctx)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		if r := latest[status.CheckID{Resource: "health", Check: "api"}]; r.Level != status.Problem || !strings.Contains(r.Message, "503") {
			t.Errorf("stored result of health/api after notify instant: %+v", r)
		}
	}
	// Each digest is its own, unless it says what one written within
	// ten minutes said: the second run has health/web at problem (its
	// second failure) for ops, and nothing new for alice.
	code, out, _ = statusd("notify", "digest")
	if code != 0 || !strings.Contains(out, "2 notifications written to the outbox") {
		t.Errorf("first digest: %d %q", code, out)
	}
	code, out, _ = statusd("notify", "digest")
	if code != 0 || !strings.Contains(out, "1 notifications written to the outbox") || !strings.Contains(out, "health/web") ||
		!strings.Contains(out, "The digest for alice says what one written in the last 10 minutes said: not written again.") {
		t.Errorf("second digest: %d %q", code, out)
	}

	// The manual status wins over the failing check until cleared.
	code, out, _ = statusd("service", "clear", "API")
	if code != 0 || !strings.Contains(out, "API: major_outage → partial_outage (from its checks again)") {
		t.Errorf("service clear: %d %q", code, out)
	}
	st, err := store.Open(ctx, dsn, store.Options{})
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

// An operator runs the page from the command line: an incident opened,
// updated and resolved, a maintenance window added and cancelled, each
// seen by the running daemon's page, archive and feed.
func TestIncidentAndMaintenanceCommands(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "statusd.yml")
	if err := os.WriteFile(file, []byte(`
site: {name: ACME}
resources:
  health:
    - {name: ping, kind: ping}
services:
  - {name: API, checks: [health/ping]}
  - {name: Docs}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := "sqlite:" + filepath.Join(dir, "statusd.db")
	d := serve(t, file, dsn)
	statusd := func(args ...string) (int, string) {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{"--config.file", file, "--storage.dsn", dsn}, args...)...)
		return code, out + errOut
	}
	incident := func(args ...string) (int, string) {
		t.Helper()
		return statusd(append([]string{"incident"}, args...)...)
	}
	maintenance := func(args ...string) (int, string) {
		t.Helper()
		return statusd(append([]string{"maintenance"}, args...)...)
	}
	page := func(path string) string {
		_, body := d.get(t, path)
		return body
	}

	if code, out := incident("open", "--title", "Payments fail", "--service", "API", "--service", "Nope", "--state", "investigating"); code != 1 ||
		!strings.Contains(out, `service "Nope": no such service (services are defined in the config: API, Docs)`) {
		t.Errorf("unknown service: %d %s", code, out)
	}
	code, out := incident("open", "--title", "Payments fail", "--service", "API", "--message", "Card payments fail: https://psp.example/status")
	if code != 0 || out != "incident 1 opened: investigating\n" {
		t.Fatalf("open: %d %s", code, out)
	}
	eventually(t, "the page to show the incident", func() bool { return strings.Contains(page("/"), "Payments fail") })
	if code, out := incident("update", "1", "--state", "identified", "--message", "The PSP is down."); code != 0 || !strings.Contains(out, "incident 1 updated: identified") {
		t.Errorf("update: %d %s", code, out)
	}
	if code, out := incident("resolve", "1"); code != 0 || !strings.Contains(out, "incident 1 resolved: resolved") {
		t.Errorf("resolve: %d %s", code, out)
	}
	if code, out := incident("resolve", "7"); code != 1 || !strings.Contains(out, "no incident 7") {
		t.Errorf("resolve a missing incident: %d %s", code, out)
	}
	if code, out := incident("edit", "1", "--impact", "major"); code != 0 || out != "incident 1 edited: resolved\n" {
		t.Errorf("edit: %d %s", code, out)
	}
	if code, out := incident("edit", "1", "--occurred", "+1h"); code != 2 || !strings.Contains(out, "in the future") {
		t.Errorf("edit into the future: %d %s", code, out)
	}
	// Every write is in the audit log, by the system user, via the CLI.
	code, out = statusd("audit")
	if code != 0 || strings.Count(out, "incident.update") != 2 || strings.Count(out, "incident.create") != 1 || strings.Count(out, "incident.edit") != 1 || !strings.Contains(out, " cli ") {
		t.Errorf("audit: %d\n%s", code, out)
	}
	eventually(t, "the incident page to show its three updates", func() bool {
		p := page("/incidents/1")
		return strings.Contains(p, "This incident has been resolved.") && strings.Contains(p, "The PSP is down.") &&
			strings.Contains(p, `<a href="https://psp.example/status"`)
	})
	month := time.Now().UTC().Format("2006/01")
	if p := page("/history/" + month); !strings.Contains(p, "Payments fail") {
		t.Errorf("the archive lacks the incident:\n%s", p)
	}
	if f := page("/feed.atom"); !strings.Contains(f, "Payments fail [Resolved]") {
		t.Errorf("the feed lacks the incident:\n%s", f)
	}
	if code, out := incident("list"); code != 0 || !strings.Contains(out, "1   resolved") || !strings.Contains(out, "Payments fail  API") {
		t.Errorf("list: %d %s", code, out)
	}
	// Yesterday's outage, written up today.
	yesterday := time.Now().Add(-24 * time.Hour).UTC()
	if code, out := incident("open", "--title", "Docs were down", "--service", "Docs", "--state", "resolved", "--occurred", yesterday.Format(time.RFC3339)); code != 0 || out != "incident 2 opened: resolved\n" {
		t.Errorf("open dated back: %d %s", code, out)
	}
	if code, out := incident("list"); code != 0 || !strings.Contains(out, "2   resolved  "+yesterday.Format(listTime)) {
		t.Errorf("list, the incident dated back: %d %s", code, out)
	}
	if code, out := incident("open", "--title", "x", "--occurred", "+1h"); code != 2 || !strings.Contains(out, "--occurred: ") || !strings.Contains(out, "is in the future") {
		t.Errorf("an incident in the future: %d %s", code, out)
	}
	if code, out := incident("open", "--title", "x", "--occurred", "last week"); code != 2 || !strings.Contains(out, `--occurred: "last week": use now, +DURATION, -DURATION`) {
		t.Errorf("an unreadable time: %d %s", code, out)
	}

	code, out = maintenance("add", "--title", "Database upgrade", "--start", "+1h", "--end", "+3h", "--service", "API", "--description", "Read-only for an hour")
	if code != 0 || !strings.HasPrefix(out, "maintenance 1 scheduled from ") {
		t.Fatalf("add: %d %s", code, out)
	}
	if code, out := maintenance("add", "--title", "x", "--start", "tomorrow"); code != 1 || !strings.Contains(out, "--start: \"tomorrow\": use now, +DURATION") {
		t.Errorf("bad start: %d %s", code, out)
	}
	if code, out := maintenance("add", "--title", "x", "--start", "+2h", "--end", "+1h"); code != 1 || !strings.Contains(out, "must be after --start") {
		t.Errorf("end before start: %d %s", code, out)
	}
	eventually(t, "the page to announce the maintenance", func() bool {
		p := page("/")
		return strings.Contains(p, "Database upgrade") && strings.Contains(p, "Scheduled: starts")
	})
	if code, out := maintenance("list"); code != 0 || !strings.Contains(out, "Database upgrade") {
		t.Errorf("list: %d %s", code, out)
	}
	if code, out := maintenance("cancel", "1"); code != 0 || out != "maintenance 1 cancelled\n" {
		t.Errorf("cancel: %d %s", code, out)
	}
	eventually(t, "the notice to go", func() bool { return !strings.Contains(page("/"), "Database upgrade") })
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	rome, _ := time.LoadLocation("Europe/Rome")
	for in, want := range map[string]time.Time{
		"now":                  now,
		"+90m":                 now.Add(90 * time.Minute),
		"-3h":                  now.Add(-3 * time.Hour),
		"2026-12-05T22:00:00Z": time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC),
		"2026-12-05 22:00":     time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC),
		"2026-12-05":           time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC),
	} {
		got, err := parseTime(in, now, rome)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "+-1h", "--1h", "-soon", "+soon", "05/12/2026"} {
		if _, err := parseTime(in, now, rome); err == nil {
			t.Errorf("parseTime(%q) took it", in)
		}
	}
}

// FuzzParseTime: no time the command line is given panics; "now" is now,
// an accepted "+DURATION" is not before now and "-DURATION" not after.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"now", "+2h", "-2h", "+-1h", "2026-12-05 22:00", "2026-12-05T22:00:00Z", "2026-12-05", "", "+9999999999h"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTime(s, now, time.UTC)
		if err != nil {
			return
		}
		switch trimmed := strings.TrimSpace(s); {
		case trimmed == "now" && !got.Equal(now):
			t.Fatalf("parseTime(%q) = %s, not now", s, got)
		case strings.HasPrefix(trimmed, "+") && got.Before(now):
			t.Fatalf("parseTime(%q) = %s, before now", s, got)
		case strings.HasPrefix(trimmed, "-") && got.After(now):
			t.Fatalf("parseTime(%q) = %s, after now", s, got)
		}
	})
}

// instantConfig watches a target with an instant check behind a service
// that opens incidents; its receivers are webhooks under hooks.
func instantConfig(url, hooks string) string {
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
    - name: web
      kind: http
      url: "` + url + `"
      timeout: 500ms
      notify: {receivers: [ops], mode: digest}
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
