package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/testsvc"
)

// The admin in a real headless Chromium, on a desktop and on a phone: an
// operator logs in, opens an incident that puts a service in major outage,
// sees it on the public page and in /api/v1/summary, posts updates until
// it is resolved (the service recovers), and logs out — with no console
// error (a refused style or script under the admin's CSP would be one)
// and no sideways scrolling on the phone.
func TestAdminInChromium(t *testing.T) {
	d := start(t, `
site: {name: ACME}
services:
  - {name: API, description: "The public API"}
  - {name: Docs}
`, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"))
	waitForServices(t, d)
	hash, err := store.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.app.store.AddUser(context.Background(), "ada", hash, time.Now()); err != nil {
		t.Fatal(err)
	}
	browser := testsvc.Chromium(t)
	artifacts := testsvc.Artifacts(t)
	var mu sync.Mutex
	var console []chromedp.ConsoleMessage
	go func() {
		for m, err := range chromedp.Console(browser) {
			if err != nil {
				return
			}
			mu.Lock()
			console = append(console, m)
			mu.Unlock()
		}
	}()

	summary := func() (worst string, open []string) {
		resp, err := http.Get(d.url + "/api/v1/summary")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var s struct {
			Worst     string `json:"worst_status"`
			Incidents []struct {
				Title string `json:"title"`
			} `json:"incidents"`
		}
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("summary %s: %v", b, err)
		}
		for _, i := range s.Incidents {
			open = append(open, i.Title)
		}
		return s.Worst, open
	}
	b := tab{t, browser}
	step, text := b.do, b.text

	for _, v := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"desktop", 1280, 900, false}, {"phone", 390, 844, true}} {
		title := "Payments fail on " + v.name
		var opts []chromedp.EmulateViewportOption
		if v.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
		}
		step("open the admin", chromedp.EmulateViewport(v.width, v.height, opts...), chromedp.Navigate(d.url+"/admin"),
			chromedp.WaitVisible(chromedp.CSS(`input[name="password"]`)))
		step("log in", chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "ada"),
			chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "correct horse battery"),
			chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#oi")))

		step("open an incident", chromedp.Navigate(d.url+"/admin/incidents/new"), chromedp.WaitVisible(chromedp.CSS(`input[name="title"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name="title"]`), title),
			chromedp.SetValue(chromedp.CSS(`select[name="impact"]`), "major"),
			chromedp.SendKeys(chromedp.CSS(`textarea[name="message"]`), "Card payments **fail** at checkout."),
			chromedp.Click(chromedp.CSS(`input[name="service"][value="API"]`)),
			chromedp.SetValue(chromedp.CSS(`select[name="status:API"]`), "major_outage"),
			chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(`form[action$="/updates"]`)))
		if h1 := text("h1"); h1 != title {
			t.Fatalf("after opening: h1 %q", h1)
		}
		if v.mobile {
			ctx, cancel := context.WithTimeout(browser, 10*time.Second)
			overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("document.documentElement.scrollWidth > window.innerWidth"))
			cancel()
			if err != nil || overflow {
				t.Errorf("the incident page scrolls sideways on a phone (%v)", err)
			}
		}
		ctx, cancel := context.WithTimeout(browser, 10*time.Second)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err == nil {
			_ = os.WriteFile(filepath.Join(artifacts, "admin-incident-"+v.name+".png"), png, 0o644)
		}

		eventually(t, "the summary to show the incident and the outage", func() bool {
			worst, open := summary()
			return worst == "major_outage" && len(open) == 1 && open[0] == title
		})
		step("see it on the public page", chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.CSS(".banner")))
		if page := text("main"); !strings.Contains(page, title) || !strings.Contains(page, "Card payments fail at checkout.") {
			t.Errorf("the public page lacks the incident:\n%s", page)
		}

		for i, state := range []string{"identified", "monitoring", "resolved"} {
			// The page after the post has one more update than before.
			posted := fmt.Sprintf(`ol.updates li:nth-of-type(%d)`, i+2)
			step("post "+state, chromedp.Navigate(d.url+"/admin/incidents"), chromedp.Click(chromedp.CSS(`ul.list a`)),
				chromedp.WaitVisible(chromedp.CSS(`form[action$="/updates"]`)),
				chromedp.SetValue(chromedp.CSS(`form[action$="/updates"] select[name="state"]`), state),
				chromedp.SendKeys(chromedp.CSS(`form[action$="/updates"] textarea`), "Now "+state+"."),
				chromedp.Click(chromedp.CSS(`form[action$="/updates"] button`)), chromedp.WaitVisible(chromedp.CSS(posted)))
			if u := text("ol.updates li"); !strings.Contains(u, state) || !strings.Contains(u, "Now "+state+".") {
				t.Errorf("latest update after posting %s: %q", state, u)
			}
		}
		eventually(t, "the summary to show the service recovered and no open incident", func() bool {
			worst, open := summary()
			return worst == "operational" && len(open) == 0
		})

		step("log out", chromedp.Click(chromedp.CSS(`form.logout button`)), chromedp.WaitVisible(chromedp.CSS(`input[name="password"]`)))
		step("the admin is closed again", chromedp.Navigate(d.url+"/admin/incidents"), chromedp.WaitVisible(chromedp.CSS(`input[name="password"]`)))
		// The incident was removed so that the next width starts afresh.
		incs, _, err := d.app.store.Incidents(context.Background(), store.IncidentQuery{})
		if err != nil || len(incs) != 1 || !incs[0].Closed || len(incs[0].Updates) != 4 {
			t.Errorf("stored incidents after %s: %+v %v", v.name, incs, err)
		}
		if err := d.app.evaluator.DeleteIncident(context.Background(), store.Actor{Name: "test", Via: store.ViaCLI}, incs[0].ID); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := d.app.store.Audit(context.Background(), store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	byAda := 0
	for _, e := range entries {
		if e.Actor == "ada" && e.Via == store.ViaAdmin {
			byAda++
		}
	}
	if byAda != 8 { // per width: one incident opened, three updates
		t.Errorf("audit: %d writes by ada, want 8", byAda)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, m := range console {
		if m.Type == "error" || m.IsException() || m.Type == "warning" {
			t.Errorf("console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line)
		}
	}
}

// TestWrittenTextIsInert: what a token writes through the API — script in
// every text field — comes out escaped on the page, the incident page, the
// archive, the feed and the admin, and inert in the JSON.
func TestWrittenTextIsInert(t *testing.T) {
	d := start(t, "services:\n  - {name: API}\n", "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"))
	waitForServices(t, d)
	ctx := context.Background()
	token, err := d.app.store.AddToken(ctx, "deploy", store.ScopeWrite, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.app.auth.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	const evil = `<script>alert(1)</script><img src=x onerror=alert(2)>`
	post := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequest("POST", d.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
	}
	js, _ := json.Marshal(evil)
	post("/api/v1/services", `{"name":"Mail <b onmouseover=alert(3)>","description":`+string(js)+`}`)
	post("/api/v1/incidents", `{"title":`+string(js)+`,"message":`+string(js)+`,"services":[{"name":"API","status":"degraded"},"Mail <b onmouseover=alert(3)>"]}`)
	post("/api/v1/incidents/1/updates", `{"state":"identified","message":"[x](javascript:alert(4)) `+strings.ReplaceAll(evil, `"`, `\"`)+`"}`)
	post("/api/v1/maintenances", `{"title":`+string(js)+`,"description":`+string(js)+`,"start":"2030-01-01T00:00:00Z","services":["API"]}`)

	hash, _ := store.HashPassword("correct horse battery")
	if err := d.app.store.AddUser(ctx, "ada", hash, time.Now()); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(d.url+"/admin/login", map[string][]string{"name": {"ada"}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// A page that does not exist is a page for a browser, JSON otherwise.
	for _, path := range []string{"/nope", "/history/2026/1"} {
		req, _ := http.NewRequest("GET", d.url+path, nil)
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(b), "Page not found") {
			t.Errorf("%s for a browser: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	if code, body := d.get(t, "/nope"); code != 404 || !strings.Contains(body, `"error"`) {
		t.Errorf("/nope for a client: %d %s", code, body)
	}
	// The checks dashboard is open to a logged-in user, not to strangers.
	if resp, err := client.Get(d.url + "/checks"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/checks for a logged-in user: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := http.Get(d.url + "/checks"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/checks for a stranger: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	for _, path := range []string{"/", "/incidents/1", "/history", "/feed.atom", "/admin", "/admin/incidents", "/admin/incidents/1", "/admin/services", "/admin/maintenances", "/admin/audit", "/api/v1/summary"} {
		var body string
		eventually(t, path+" to show what was written", func() bool {
			resp, err := client.Get(d.url + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			return resp.StatusCode == 200 && (strings.Contains(body, "alert(1)") || path == "/admin/services" && strings.Contains(body, "alert(3)"))
		})
		for _, raw := range []string{"<script>alert", "<img src=x", "<b onmouseover", `href="javascript:`} {
			if strings.Contains(body, raw) {
				t.Errorf("%s has %s raw", path, raw)
			}
		}
	}
}

// waitForServices waits until the store is migrated and holds the
// config's services (written once the store is ready), which the status
// page shows.
func waitForServices(t *testing.T, d *daemon) {
	t.Helper()
	eventually(t, "the config's services on the board", func() bool {
		code, _ := d.get(t, "/api/v1/services/API")
		return code == 200
	})
}
