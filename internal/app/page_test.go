package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/statusd/statusd/internal/testsvc"
)

// The status page in a real headless Chromium: it loads at desktop and
// phone widths without a console error, and its favicon and banner
// follow a check's target as it breaks and recovers.
func TestStatusPageInChromium(t *testing.T) {
	target, up := switchable(t)
	d := start(t, `
site: {name: ACME}
defaults: {failure_threshold: 1}
resources:
  health:
    - {name: api, kind: http, url: "`+target.URL+`", interval: 1s, timeout: 500ms}
groups:
  - {name: Website, collapse: when_operational}
services:
  - {name: API, group: Website, checks: [health/api], auto_incident: true, description: "The public API"}
  - {name: Docs}
`, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"))
	browser := testsvc.Chromium(t)
	artifacts := testsvc.Artifacts(t)

	var mu sync.Mutex
	var console []chromedp.ConsoleMessage
	messages := chromedp.Console(browser)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			mu.Lock()
			console = append(console, m)
			mu.Unlock()
		}
	}()

	// favicon reloads the page and reads its icon link and banner.
	favicon := func() (icon, banner string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, 10*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.Navigate(d.url+"/"), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
			t.Fatal(err)
		}
		href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`link[rel="icon"]`), "href"))
		if err != nil {
			t.Fatal(err)
		}
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".banner")))
		if err != nil {
			t.Fatal(err)
		}
		return href.Value, text
	}
	waitFor := func(state, banner string) {
		t.Helper()
		var icon, text string
		eventually(t, "the page to show "+state, func() bool {
			icon, text = favicon()
			return strings.Contains(icon, "favicon/"+state+"?") && strings.Contains(text, banner)
		})
	}

	waitFor("operational", "All systems are operational")
	for _, v := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"desktop", 1280, 900, false}, {"phone", 390, 844, true}} {
		var opts []chromedp.EmulateViewportOption
		if v.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
		}
		ctx, cancel := context.WithTimeout(browser, 10*time.Second)
		png, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(v.width, v.height, opts...), chromedp.Navigate(d.url+"/"),
				chromedp.WaitVisible(chromedp.CSS(".banner"))); err != nil {
				return nil, err
			}
			return chromedp.Run(ctx, chromedp.FullScreenshot(100))
		})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(artifacts, "status-page-"+v.name+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", file, len(png))
	}
	// The phone layout has no horizontal scrolling.
	ctx, cancel := context.WithTimeout(browser, 10*time.Second)
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("document.documentElement.scrollWidth > window.innerWidth"))
	cancel()
	if err != nil || overflow {
		t.Errorf("the page scrolls sideways on a phone (%v)", err)
	}
	ctx, cancel = context.WithTimeout(browser, 10*time.Second)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	cancel()

	up.Store(false)
	waitFor("partial_outage", "Some systems are experiencing partial outages")
	ctx, cancel = context.WithTimeout(browser, 10*time.Second)
	incident, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".incidents")))
	cancel()
	if err != nil || !strings.Contains(incident, "API: partial outage") {
		t.Errorf("no incident on the page: %q (%v)", incident, err)
	}
	up.Store(true)
	waitFor("operational", "All systems are operational")

	mu.Lock()
	defer mu.Unlock()
	for _, m := range console {
		if m.Type == "error" || m.IsException() || m.Type == "warning" {
			t.Errorf("console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line)
		}
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
	d := startWith(t, file, dsn)
	shot := OneShotOptions{ConfigFile: file, StorageDSN: dsn, Logger: discard}
	run := func(fn func(out, errOut *strings.Builder) int) (int, string) {
		t.Helper()
		var out, errOut strings.Builder
		code := fn(&out, &errOut)
		return code, out.String() + errOut.String()
	}
	incident := func(action string, id int64, o IncidentOptions) (int, string) {
		o.OneShotOptions = shot
		return run(func(out, errOut *strings.Builder) int {
			return IncidentCommand(context.Background(), action, id, o, out, errOut)
		})
	}
	maintenance := func(action string, id int64, o MaintenanceOptions) (int, string) {
		o.OneShotOptions = shot
		return run(func(out, errOut *strings.Builder) int {
			return MaintenanceCommand(context.Background(), action, id, o, out, errOut)
		})
	}
	page := func(path string) string {
		_, body := d.get(t, path)
		return body
	}

	if code, out := incident("open", 0, IncidentOptions{Title: "Payments fail", Services: []string{"API", "Nope"}, State: "investigating"}); code != 1 ||
		!strings.Contains(out, `service "Nope": no such service (services are defined in the config: API, Docs)`) {
		t.Errorf("unknown service: %d %s", code, out)
	}
	code, out := incident("open", 0, IncidentOptions{Title: "Payments fail", Services: []string{"API"}, State: "investigating", Message: "Card payments fail: https://psp.example/status"})
	if code != 0 || out != "incident 1 opened: investigating\n" {
		t.Fatalf("open: %d %s", code, out)
	}
	eventually(t, "the page to show the incident", func() bool { return strings.Contains(page("/"), "Payments fail") })
	if code, out := incident("update", 1, IncidentOptions{State: "identified", Message: "The PSP is down."}); code != 0 || !strings.Contains(out, "incident 1 updated: identified") {
		t.Errorf("update: %d %s", code, out)
	}
	if code, out := incident("resolve", 1, IncidentOptions{}); code != 0 || !strings.Contains(out, "incident 1 resolved: resolved") {
		t.Errorf("resolve: %d %s", code, out)
	}
	if code, out := incident("resolve", 7, IncidentOptions{}); code != 1 || !strings.Contains(out, "no incident 7") {
		t.Errorf("resolve a missing incident: %d %s", code, out)
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
	if code, out := incident("list", 0, IncidentOptions{Limit: 20}); code != 0 || !strings.Contains(out, "1   resolved") || !strings.Contains(out, "Payments fail  API") {
		t.Errorf("list: %d %s", code, out)
	}

	code, out = maintenance("add", 0, MaintenanceOptions{Title: "Database upgrade", Start: "+1h", End: "+3h", Services: []string{"API"}, Description: "Read-only for an hour"})
	if code != 0 || !strings.HasPrefix(out, "maintenance 1 scheduled from ") {
		t.Fatalf("add: %d %s", code, out)
	}
	if code, out := maintenance("add", 0, MaintenanceOptions{Title: "x", Start: "tomorrow"}); code != 1 || !strings.Contains(out, "--start: \"tomorrow\": use now, +DURATION") {
		t.Errorf("bad start: %d %s", code, out)
	}
	if code, out := maintenance("add", 0, MaintenanceOptions{Title: "x", Start: "+2h", End: "+1h"}); code != 1 || !strings.Contains(out, "must be after --start") {
		t.Errorf("end before start: %d %s", code, out)
	}
	eventually(t, "the page to announce the maintenance", func() bool {
		p := page("/")
		return strings.Contains(p, "Database upgrade") && strings.Contains(p, "Scheduled: starts")
	})
	if code, out := maintenance("list", 0, MaintenanceOptions{}); code != 0 || !strings.Contains(out, "Database upgrade") {
		t.Errorf("list: %d %s", code, out)
	}
	if code, out := maintenance("cancel", 1, MaintenanceOptions{}); code != 0 || out != "maintenance 1 cancelled\n" {
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
		"2026-12-05T22:00:00Z": time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC),
		"2026-12-05 22:00":     time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC),
		"2026-12-05":           time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC),
	} {
		got, err := ParseTime(in, now, rome)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "+-1h", "+soon", "05/12/2026"} {
		if _, err := ParseTime(in, now, rome); err == nil {
			t.Errorf("ParseTime(%q) took it", in)
		}
	}
}

// FuzzParseTime: no time the command line is given panics; "now" is now,
// and an accepted "+DURATION" is not before now.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"now", "+2h", "+-1h", "2026-12-05 22:00", "2026-12-05T22:00:00Z", "2026-12-05", "", "+9999999999h"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s, now, time.UTC)
		if err != nil {
			return
		}
		switch trimmed := strings.TrimSpace(s); {
		case trimmed == "now" && !got.Equal(now):
			t.Fatalf("ParseTime(%q) = %s, not now", s, got)
		case strings.HasPrefix(trimmed, "+") && got.Before(now):
			t.Fatalf("ParseTime(%q) = %s, before now", s, got)
		}
	})
}
