package app

import (
	"context"
	"net/http"
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
	target, up := testsvc.Target(t)
	d := start(t, `
site: {name: ACME}
page: {public_checks: true}
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
	// The status follows the checks at once (from memory); the incident
	// is on the page once it is written, a moment later.
	var incident string
	eventually(t, "the incident on the page", func() bool {
		favicon()
		ctx, cancel := context.WithTimeout(browser, 10*time.Second)
		defer cancel()
		incident, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".incidents")))
		return err == nil && strings.Contains(incident, "API: partial outage")
	})
	up.Store(true)
	waitFor("operational", "All systems are operational")

	// Every page, under its Content-Security-Policy: the stylesheet and
	// the script apply, and nothing is refused (a refusal is a console
	// error, checked below).
	for _, path := range []string{"/", "/incidents/1", "/history", "/checks"} {
		ctx, cancel := context.WithTimeout(browser, 10*time.Second)
		bg, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (string, error) {
			if err := chromedp.Do(ctx, chromedp.Navigate(d.url+path), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
				return "", err
			}
			return chromedp.Run(ctx, chromedp.Evaluate[string]("getComputedStyle(document.body).fontFamily"))
		})
		cancel()
		if err != nil || !strings.Contains(bg, "system-ui") && !strings.Contains(bg, "sans-serif") {
			t.Errorf("%s: the stylesheet did not apply (font %q, %v)", path, bg, err)
		}
	}
	resp, err := http.Get(d.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
		!strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" ||
		resp.Header.Get("Referrer-Policy") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("security headers: %v", resp.Header)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, m := range console {
		if m.Type == "error" || m.IsException() || m.Type == "warning" {
			t.Errorf("console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line)
		}
	}
}
