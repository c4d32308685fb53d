package app

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/i18n"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/testsvc"
)

// englishOnPage are texts of the English page no other language's page
// may show (the names an operator wrote aside).
var englishOnPage = []string{"Skip to content", "History", "Subscribe", "Recent incidents", "Other services", "Partial outage",
	"Some systems", "uptime over", "days ago", "Today", "Occurred", "Affects", "Powered by", "Investigating", "Major impact",
	"changed", "Incident history", " ago", "Scheduled", "ends", "Response time"}

// relativeWords are how each language says how long ago.
var relativeWords = map[string]string{"en": "ago", "it": " fa", "de": "vor ", "fr": "il y a", "es": "hace "}

// The page in every shipped language, in a real headless Chromium at
// 1280 and 390 px, light and dark: the page is in that language (no
// English left), its relative times are in the page's language whatever
// the browser's, axe-core finds no violation, and Lighthouse scores it at
// least 0.95 in every category.
func TestPageLanguagesInChromium(t *testing.T) {
	tools := testsvc.BrowserTools(t)
	axe, err := os.ReadFile(filepath.Join(tools, "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	target, _ := testsvc.Target(t)
	d := startOptions(t, writeConfig(t, `
site: {name: ACME, timezone: Europe/Rome}
smtp: {host: 127.0.0.1, from: status@acme.example}
resources:
  health:
    - {name: api, kind: http, url: "`+target.URL+`", interval: 1s, timeout: 500ms}
groups:
  - {name: Website}
services:
  - {name: API, group: Website, checks: [health/api], description: "The public API"}
  - {name: Web, group: Website}
  - {name: Docs}
`), "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"), nil, func(o *Options) { o.ExternalURL = "http://status.acme.example" })
	waitForServices(t, d)
	ctx := context.Background()
	who := store.Actor{Name: "ada", Via: store.ViaAdmin}
	inc, err := d.app.evaluator.OpenIncident(ctx, who, content.NewIncident{Title: "Checkout", Impact: "major", Occurred: time.Now().Add(-10 * time.Minute),
		Message: "Payments **fail**.", Services: []content.ServiceImpact{{Name: "Web"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.app.evaluator.UpdateIncident(ctx, who, inc.ID, content.IncidentUpdate{State: store.Monitoring, Message: "Fixed, watching."}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(48 * time.Hour)
	end := start.Add(2 * time.Hour)
	if _, err := d.app.evaluator.AddMaintenance(ctx, who, content.Maintenance{Title: "DB", Start: start, End: &end, Services: []string{"Docs"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the page to show the incident", func() bool {
		_, body := d.get(t, "/")
		return strings.Contains(body, "Checkout")
	})

	browser := testsvc.Chromium(t)
	artifacts := testsvc.Artifacts(t)
	// page.js updates relative times every 30 s: the test keeps its
	// function to call it at once.
	run0, cancel0 := context.WithTimeout(browser, 10*time.Second)
	if _, err := chromedp.Run(run0, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.setInterval = function (f) { window.__tick = f; return 0; };`})
		return chromedp.Void{}, err
	}); err != nil {
		t.Fatal(err)
	}
	cancel0()
	b := tab{t, browser}
	run, eval := b.do, b.eval

	for _, l := range i18n.MustLoad().Langs() {
		for _, v := range []struct {
			name          string
			width, height int64
			mobile, dark  bool
		}{{"1280", 1280, 900, false, false}, {"390", 390, 844, true, false}, {"1280-dark", 1280, 900, false, true}, {"390-dark", 390, 844, true, true}} {
			var opts []chromedp.EmulateViewportOption
			if v.mobile {
				opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
			}
			actions := []chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(v.width, v.height, opts...)}
			if v.dark {
				actions = append(actions, darkMode)
			} else {
				actions = append(actions, lightMode)
			}
			actions = append(actions, chromedp.Navigate(d.url+"/?lang="+l.Code), chromedp.WaitVisible(chromedp.CSS(".banner")))
			run(l.Code+" "+v.name, actions...)
			if lang := eval(`document.documentElement.lang`); lang != l.Code {
				t.Fatalf("%s: <html lang=%q>", l.Code, lang)
			}
			// The server's words, then page.js's (Intl in the page's
			// language; the browser's is English).
			for _, js := range []string{`document.querySelector(".inc .when .ago").textContent`,
				`(window.__tick(), document.querySelector(".inc .when .ago").textContent)`} {
				if ago := eval(js); !strings.Contains(ago, relativeWords[l.Code]) {
					t.Errorf("%s: the incident occurred %q", l.Code, ago)
				}
			}
			if l.Code != "en" {
				text := eval(`document.body.innerText`)
				for _, w := range englishOnPage {
					if strings.Contains(text, w) {
						t.Errorf("%s page (%s) still says %q", l.Code, v.name, w)
					}
				}
			}
			if eval(`String(document.documentElement.scrollWidth > window.innerWidth)`) == "true" {
				t.Errorf("%s: the page scrolls sideways at %s", l.Code, v.name)
			}
			out := eval(string(axe) + `;axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations.map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "))))`)
			var violations []string
			if err := json.Unmarshal([]byte(out), &violations); err != nil || len(violations) > 0 {
				t.Errorf("%s at %s: axe-core violations %v (%v)", l.Code, v.name, violations, err)
			}
			b.shot(artifacts, "page-"+l.Code+"-"+v.name)
		}
		lighthouse(t, tools, d.url+"/?lang="+l.Code, l.Code)
	}
}

// lighthouse runs Lighthouse (its default: a phone, simulated
// throttling) on a page and fails below 0.95 in any category.
func lighthouse(t *testing.T, tools, url, name string) {
	t.Helper()
	chromium, err := exec.LookPath(testsvc.Env("STATUSD_TEST_CHROMIUM", "chromium"))
	if err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(t.TempDir(), "lighthouse.json")
	cmd := exec.Command("node", filepath.Join(tools, "lighthouse", "cli", "index.js"), url, "--chrome-path="+chromium,
		"--chrome-flags=--headless=new --no-sandbox --disable-gpu", "--output=json", "--output-path="+report, "--quiet")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lighthouse %s: %v\n%s", name, err, out)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(testsvc.Artifacts(t), "lighthouse-"+name+".json"), b, 0o644)
	var r struct {
		Categories map[string]struct {
			Score     *float64 `json:"score"`
			AuditRefs []struct {
				ID     string  `json:"id"`
				Weight float64 `json:"weight"`
			} `json:"auditRefs"`
		} `json:"categories"`
		Audits map[string]struct {
			Score *float64 `json:"score"`
			Title string   `json:"title"`
		} `json:"audits"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	for id, c := range r.Categories {
		if c.Score == nil || *c.Score < 0.95 {
			var failing []string
			for _, a := range c.AuditRefs {
				if s := r.Audits[a.ID].Score; a.Weight > 0 && s != nil && *s < 1 {
					failing = append(failing, a.ID)
				}
			}
			score := -1.0
			if c.Score != nil {
				score = *c.Score
			}
			t.Errorf("Lighthouse %s: %s scores %.2f (below 0.95: %v)", name, id, score, failing)
		}
	}
}

// writeConfig writes a config file for a test.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "statusd.yml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}
