package page_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/net/html"

	"github.com/statusd/statusd/internal/board"
	"github.com/statusd/statusd/internal/i18n"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/web/page"
	"github.com/statusd/statusd/web/route"
)

// now is the fixture's clock: 10:00 UTC on 23 Nov 2026.
var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// fixture serves the pages over a real store and board cache.
type fixture struct {
	t     *testing.T
	st    *store.Store
	cache *board.Cache
	pages *page.Pages
	srv   *httptest.Server
	clock *clockwork.FakeClock
}

func newFixture(t *testing.T, s page.Settings, checks func() []page.CheckInfo) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	clock := clockwork.NewFakeClockAt(now)
	cache := board.New(board.Options{Store: st, Clock: clock})
	p := page.New(page.Options{Store: st, Boards: cache, Checks: checks, Clock: clock, Version: "v1.2.3",
		ResponseTimed: func(status.CheckID) bool { return true }})
	theme, err := page.Load(s, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	p.Use(theme)
	// A path without a page gets the page's 404, as web serves it to a
	// browser.
	r := route.New(nil, http.HandlerFunc(p.NotFound), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}))
	p.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &fixture{t: t, st: st, cache: cache, pages: p, srv: srv, clock: clock}
}

// refresh rebuilds the board and renders the pages again (as the loops
// do when the store changes).
func (f *fixture) refresh() {
	f.t.Helper()
	if err := f.cache.Refresh(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	f.pages.Refresh(context.Background())
}

type response struct {
	code   int
	header http.Header
	body   string
}

func (f *fixture) get(path string, header ...string) response {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func settings() page.Settings {
	return page.Settings{SiteName: "ACME", Title: "ACME status", SiteURL: "https://acme.example", Location: time.UTC,
		IncidentDays: 7, OpenIncidentsAlways: true}
}

// seed writes groups, services, incidents and a maintenance window.
func (f *fixture) seed(evil string) map[string]int64 {
	f.t.Helper()
	ctx := context.Background()
	err := f.st.SyncConfig(ctx, []store.GroupSpec{
		{Name: "Website" + evil, Priority: 10, Collapse: "when_operational"},
		{Name: "Backend", Priority: 5, Collapse: "never"},
		{Name: "Empty", Priority: 1, Collapse: "never"},
	}, []store.ServiceSpec{
		{Name: "API" + evil, Group: "Website" + evil, Description: "The API" + evil, Link: "https://api.example/?q=" + evil, Priority: 5,
			OnProblem: status.PartialOutage, Checks: []status.CheckID{{Resource: "health", Check: "api"}}},
		{Name: "Web", Group: "Website" + evil},
		{Name: "DB", Group: "Backend"},
		{Name: "Docs"},
	}, now.Add(-48*time.Hour))
	if err != nil {
		f.t.Fatal(err)
	}
	ids := map[string]int64{}
	err = f.st.Update(ctx, func(tx *store.Tx) error {
		api, err := tx.Service("API" + evil)
		if err != nil {
			return err
		}
		if _, err := tx.SetServiceStatus(api, status.PartialOutage, false, store.CauseChecks, "", now.Add(-time.Hour)); err != nil {
			return err
		}
		for _, inc := range []struct {
			key, title, state string
			at                time.Time
		}{
			{"today", "API down" + evil, store.Investigating, now.Add(-time.Hour)},
			{"yesterday", "Slow pages", store.Resolved, now.Add(-24 * time.Hour)},
			{"old-open", "Old but open", store.Monitoring, now.AddDate(0, 0, -30)},
			{"old-closed", "Old and closed", store.Resolved, now.AddDate(0, -2, 0)},
		} {
			id, err := tx.OpenIncident(inc.title, []int64{api.ID}, inc.state, "Details at https://status.example/x"+evil+"\nsecond line", false, inc.at)
			if err != nil {
				return err
			}
			ids[inc.key] = id
		}
		end := now.Add(2 * time.Hour)
		_, err = tx.AddMaintenance("Upgrade"+evil, "Downtime"+evil, now.Add(time.Hour), &end, []int64{api.ID}, now)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.refresh()
	return ids
}

func TestRoutes(t *testing.T) {
	f := newFixture(t, settings(), nil)
	ids := f.seed("")
	for _, tc := range []struct {
		path, ctype string
		code        int
		contains    []string
	}{
		{"/", "text/html; charset=utf-8", 200, []string{
			"Some systems are experiencing partial outages", "Upgrade", "Website", "Backend", "Other services", "Docs",
			"API down", "Old but open", "Slow pages", `href="favicon/partial_outage?v=`, `<a href="https://status.example/x" rel="nofollow noopener">`,
			`<h1 class="vh">ACME status</h1>`, `aria-labelledby="maint`, `<h2>Other services</h2><span class="st s0">`}},
		{"/incidents/" + itoa(ids["today"]), "text/html; charset=utf-8", 200, []string{"API down", `href="../"`, `href="../history/2026/11"`}},
		{"/incidents/" + itoa(ids["old-closed"]), "text/html; charset=utf-8", 200, []string{"Old and closed"}},
		{"/incidents/999", "text/html; charset=utf-8", 404, []string{"No such incident"}},
		{"/incidents/x", "text/html; charset=utf-8", 404, []string{"No such incident"}},
		{"/history", "", 302, nil},
		{"/history/2026/11", "text/html; charset=utf-8", 200, []string{"Incidents of November 2026", "API down", "Slow pages", `rel="prev" href="../../history/2026/10"`}},
		{"/history/2026/10", "text/html; charset=utf-8", 200, []string{"Old but open", `rel="next" href="../../history/2026/11"`, `rel="prev" href="../../history/2026/09"`}},
		{"/history/2026/08", "text/html; charset=utf-8", 404, []string{"No incidents found"}},
		{"/history/2026/12", "text/html; charset=utf-8", 404, nil},
		{"/history/2026/13", "text/html; charset=utf-8", 404, nil},
		{"/history/2026/1", "text/html; charset=utf-8", 404, []string{"Page not found"}},
		{"/history/+026/11", "text/html; charset=utf-8", 404, nil},
		{"/history/20261/11", "text/html; charset=utf-8", 404, nil},
		{"/feed.atom", "application/atom+xml; charset=utf-8", 200, []string{"<feed", "API down [Investigating]"}},
		{"/badge/API.svg", "image/svg+xml", 200, []string{"partial outage", "<svg"}},
		{"/badge/Nope.svg", "text/plain; charset=utf-8", 404, nil},
		{"/badge/API", "", 404, nil},
		{"/badge/API.svgx", "", 404, nil},
		{"/favicon.ico", "image/x-icon", 200, nil},
		{"/favicon/operational", "image/png", 200, nil},
		{"/favicon/nope", "text/plain; charset=utf-8", 404, nil},
		{"/static/style.css", "text/css; charset=utf-8", 200, []string{"prefers-color-scheme:dark"}},
		{"/static/page.js", "text/javascript; charset=utf-8", 200, nil},
		{"/checks", "text/html; charset=utf-8", 401, []string{"page.public_checks"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := f.get(tc.path)
			if r.code != tc.code {
				t.Fatalf("%s: %d, want %d\n%s", tc.path, r.code, tc.code, r.body)
			}
			if ct := r.header.Get("Content-Type"); tc.ctype != "" && ct != tc.ctype {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			for _, want := range tc.contains {
				if !strings.Contains(r.body, want) {
					t.Errorf("lacks %q", want)
				}
			}
			if strings.HasPrefix(tc.ctype, "text/html") {
				wellFormed(t, r.body)
			}
		})
	}
	if r := f.get("/history"); r.header.Get("Location") != "history/2026/11" {
		t.Errorf("/history redirects to %q", r.header.Get("Location"))
	}
	var feed struct {
		XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
		Links   []struct {
			Href string `xml:"href,attr"`
			Rel  string `xml:"rel,attr"`
		} `xml:"link"`
		Author struct {
			Name string `xml:"name"`
		} `xml:"author"`
		Entries []struct {
			Title string `xml:"title"`
			Link  struct {
				Href string `xml:"href,attr"`
			} `xml:"link"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal([]byte(f.get("/feed.atom").body), &feed); err != nil || len(feed.Entries) != 4 {
		t.Fatalf("feed: %v, %d entries", err, len(feed.Entries))
	}
	if !strings.HasPrefix(feed.Entries[0].Link.Href, f.srv.URL+"/incidents/") {
		t.Errorf("feed link %q is not absolute", feed.Entries[0].Link.Href)
	}
	// RFC 4287: an author, and a link to the feed itself.
	if len(feed.Links) != 2 || feed.Links[1].Rel != "self" || feed.Links[1].Href != f.srv.URL+"/feed.atom" || feed.Author.Name == "" {
		t.Errorf("feed links %+v, author %q", feed.Links, feed.Author.Name)
	}
	// The feed in Italian: its language said, its states translated.
	it := f.get("/feed.atom", "Accept-Language", "it").body
	if err := xml.Unmarshal([]byte(it), &feed); err != nil || !strings.Contains(it, `xml:lang="it"`) || !strings.Contains(it, "<title>ACME status: incidenti</title>") {
		t.Errorf("the Italian feed: %v\n%.400s", err, it)
	}
	// A collapsed group (operational, when_operational) is closed; an
	// empty group is not shown.
	idx := f.get("/").body
	if strings.Contains(idx, "Empty") {
		t.Error("an empty group is shown")
	}
	if !strings.Contains(idx, `<details class="group" open>`+"\n<summary><h2>Website") {
		t.Error("the group in outage is collapsed")
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// wellFormed fails when a page's tags do not nest.
func wellFormed(t *testing.T, page string) {
	t.Helper()
	void := map[string]bool{"meta": true, "link": true, "br": true, "img": true, "input": true, "hr": true, "rect": true, "polyline": true, "stop": true}
	z := html.NewTokenizer(strings.NewReader(page))
	var stack []string
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if !errors.Is(z.Err(), io.EOF) {
				t.Fatalf("tokenize: %v", z.Err())
			}
			if len(stack) > 0 {
				t.Fatalf("unclosed elements at the end: %v", stack)
			}
			return
		case html.StartTagToken:
			name, _ := z.TagName()
			if !void[string(name)] {
				stack = append(stack, string(name))
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if void[string(name)] {
				continue // <rect …></rect> in SVG
			}
			if len(stack) == 0 || stack[len(stack)-1] != string(name) {
				t.Fatalf("</%s> closes %v", name, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
}

func TestNoServicesNoIncidents(t *testing.T) {
	f := newFixture(t, settings(), nil)
	f.refresh()
	r := f.get("/")
	if r.code != 200 || strings.Contains(r.body, `class="banner`) || !strings.Contains(r.body, `favicon/default?v=`) ||
		!strings.Contains(r.body, "No incidents in the last 7 days.") {
		t.Errorf("empty page: %d\n%s", r.code, r.body)
	}
	if r := f.get("/history"); r.code != 200 || !strings.Contains(r.body, "No incidents found.") || !strings.Contains(r.body, "<h1>Incident history</h1>") {
		t.Errorf("empty history: %d %s", r.code, r.body)
	}
	if r := f.get("/history/2026/11"); r.code != 404 {
		t.Errorf("empty month: %d", r.code)
	}
	ico := f.get("/favicon.ico")
	if ico.code != 200 || !bytes.HasPrefix([]byte(ico.body), []byte{0, 0, 1, 0, 1, 0}) || !strings.Contains(ico.body[22:30], "PNG") {
		t.Errorf("favicon.ico is no ICO holding a PNG: % x", ico.body[:min(30, len(ico.body))])
	}
}

// Everything a visitor can see that an operator or a check wrote comes
// out escaped.
func TestEscaping(t *testing.T) {
	evil := `<script>alert(1)</script>"'`
	f := newFixture(t, page.Settings{SiteName: "ACME" + evil, Title: "T" + evil, SiteURL: "https://acme.example/" + evil,
		Location: time.UTC, IncidentDays: 7, OpenIncidentsAlways: true, PublicChecks: true},
		func() []page.CheckInfo {
			res := status.Result{Level: status.Problem, Message: "m" + evil, CheckedAt: now, Details: map[string]any{"k": evil}}
			return []page.CheckInfo{{ID: status.CheckID{Resource: "health", Check: "api"}, Kind: "http", Description: "d" + evil,
				Result: &res, Receivers: []string{"ops" + evil}}}
		})
	ids := f.seed(evil)
	for _, path := range []string{"/", "/incidents/" + itoa(ids["today"]), "/history/2026/11", "/checks", "/feed.atom"} {
		r := f.get(path)
		if r.code != 200 {
			t.Errorf("%s: %d", path, r.code)
			continue
		}
		if strings.Contains(r.body, "<script>alert") {
			t.Errorf("%s: %s comes out unescaped", path, evil)
		}
	}
}

func TestCachingHeaders(t *testing.T) {
	f := newFixture(t, settings(), nil)
	f.seed("")
	r := f.get("/")
	tag := r.header.Get("ETag")
	if tag == "" || r.header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("headers: %v", r.header)
	}
	if again := f.get("/", "If-None-Match", tag); again.code != http.StatusNotModified || again.body != "" {
		t.Errorf("If-None-Match: %d", again.code)
	}
	gz := f.get("/", "Accept-Encoding", "gzip")
	if gz.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip: %v", gz.header)
	}
	zr, err := gzip.NewReader(strings.NewReader(gz.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != r.body {
		t.Error("the gzip body differs")
	}
	// A page made for one request (an error) is neither kept nor
	// compressed.
	if nf := f.get("/incidents/999", "Accept-Encoding", "gzip"); nf.code != 404 || nf.header.Get("ETag") != "" || nf.header.Get("Content-Encoding") != "" || nf.header.Get("Cache-Control") != "no-store" {
		t.Errorf("404 page headers: %d %v", nf.code, nf.header)
	}
	// Feeds are kept per host, up to a bound; past it each is made for
	// its request, still right.
	for i := range 300 {
		host := fmt.Sprintf("status%d.example", i)
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/feed.atom", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "http://"+host+"/incidents/") {
			t.Fatalf("feed for %s: %d", host, resp.StatusCode)
		}
	}
	css := f.get("/static/style.css")
	if !strings.Contains(css.header.Get("Cache-Control"), "immutable") {
		t.Errorf("static: %v", css.header)
	}
	// A change in the store shows once the board is rebuilt, with a new
	// ETag.
	err = f.st.Update(context.Background(), func(tx *store.Tx) error {
		_, err := tx.OpenIncident("New one", nil, store.Investigating, "x", false, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f.refresh()
	if r2 := f.get("/"); r2.header.Get("ETag") == tag || !strings.Contains(r2.body, "New one") {
		t.Error("the page did not follow the store")
	}
}

func TestChecksDashboard(t *testing.T) {
	s := settings()
	s.PublicChecks = true
	lvl := status.Warning
	val := 1.5
	f := newFixture(t, s, func() []page.CheckInfo {
		return []page.CheckInfo{
			{ID: status.CheckID{Resource: "health", Check: "fine"}, Kind: "ping", Result: &status.Result{Level: status.Fine, Message: "pong", CheckedAt: now}, Receivers: []string{"ops"}},
			{ID: status.CheckID{Resource: "health", Check: "never"}, Kind: "tcp"},
			{ID: status.CheckID{Resource: "health", Check: "bad"}, Kind: "http", Evaluated: &lvl, Receivers: []string{"ops", "alice"},
				Result: &status.Result{Level: status.Problem, Message: "HTTP 500", Value: &val, CheckedAt: now, Details: map[string]any{"status_code": 500}}},
			{ID: status.CheckID{Resource: "health", Check: "everywhere"}, Kind: "http", Result: &status.Result{Level: status.Fine, Success: true,
				Message: "1 of 2 locations fine (quorum 2)", CheckedAt: now, Locations: map[string]status.Result{
					"us-east": {Level: status.Problem, Message: "connection refused", CheckedAt: now},
					"eu-west": {Level: status.Fine, Success: true, Message: "200 OK", CheckedAt: now},
				}}},
		}
	})
	f.refresh()
	r := f.get("/checks")
	if r.code != 200 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	wellFormed(t, r.body)
	bad, fine, never := strings.Index(r.body, "health/bad"), strings.Index(r.body, "health/fine"), strings.Index(r.body, "health/never")
	if bad < 0 || bad > fine || fine > never {
		t.Errorf("not worst first: bad %d, fine %d, never %d", bad, fine, never)
	}
	for _, want := range []string{"1 at problem · 0 at warning · 2 fine · 1 not run yet", "ops, alice", `&#34;status_code&#34;: 500`, "HTTP 500", "1.5",
		`<li><span class="lv lfine">eu-west</span> 200 OK`, `<li><span class="lv lproblem">us-east</span> connection refused`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("lacks %q", want)
		}
	}
	// Receivers are listed for checks that are not fine only.
	if strings.Count(r.body, "ops") != 1 {
		t.Errorf("receivers of a fine check are listed")
	}
}

func TestTemplateOverrides(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("base.html", `{{define "footer"}}<p>Run by ACME ops</p>{{end}}{{define "style"}}<style>body{font-size:18px}</style>{{end}}`)
	write("index.html", `{{define "branding"}}<span class="brand">ACME {{.Site.Name}}</span>{{end}}`)
	s := settings()
	s.TemplatesDir = dir
	f := newFixture(t, s, nil)
	f.seed("")
	idx := f.get("/").body
	for _, want := range []string{"Run by ACME ops", "font-size:18px", `<span class="brand">ACME ACME</span>`, "API down"} {
		if !strings.Contains(idx, want) {
			t.Errorf("index lacks %q", want)
		}
	}
	if strings.Contains(idx, "Powered by") {
		t.Error("the footer was not replaced")
	}
	// The override's inline style is allowed by its hash, nothing else.
	sum := sha256.Sum256([]byte("body{font-size:18px}"))
	if csp := f.get("/").header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self' 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") ||
		strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	// base.html applies to every page; index.html to the index only.
	inc := f.get("/history/2026/11").body
	if !strings.Contains(inc, "Run by ACME ops") || strings.Contains(inc, `<span class="brand">`) {
		t.Error("overrides leak or are missing on the archive")
	}

	for _, tc := range []struct{ name, text, want string }{
		{"index.html", "{{define \"content\"}}\n{{.Nope}}{{end}}", "index.html:2:2: executing \"content\" at <.Nope>: can't evaluate field Nope"},
		{"base.html", "{{define \"footer\"}}\n\n{{if}}{{end}}", "base.html:3: missing value for if"},
		{"incident.html", "{{define \"title\"}}{{.Incident.Nope}}{{end}}", "incident.html:1:"},
		{"about.html", "x", "about.html: not a page template"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := t.TempDir()
			if err := os.WriteFile(filepath.Join(bad, tc.name), []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			s := settings()
			s.TemplatesDir = bad
			_, err := page.Load(s, nil)
			if err == nil || !strings.Contains(err.Error(), filepath.Join(bad, tc.want)) {
				t.Errorf("error %v, want it to name %s", err, filepath.Join(bad, tc.want))
			}
		})
	}
}

func TestFaviconOverride(t *testing.T) {
	dir := t.TempDir()
	svg := filepath.Join(dir, "major.svg")
	if err := os.WriteFile(svg, []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := settings()
	s.Favicons = map[string]string{"major_outage": svg}
	f := newFixture(t, s, nil)
	if r := f.get("/favicon/major_outage"); r.header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(r.body, "<svg") {
		t.Errorf("override: %v %q", r.header, r.body)
	}
	s.Favicons = map[string]string{"major_outage": filepath.Join(dir, "missing.png")}
	if _, err := page.Load(s, nil); err == nil || !strings.Contains(err.Error(), "page.favicons.major_outage") {
		t.Errorf("missing icon: %v", err)
	}
	// A partial set: the states without a file take the operator's
	// default, not the built-in icons.
	def := filepath.Join(dir, "default.svg")
	if err := os.WriteFile(def, []byte(`<svg xmlns="http://www.w3.org/2000/svg" id="mine"/>`), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Favicons = map[string]string{"default": def, "major_outage": svg}
	f = newFixture(t, s, nil)
	for state, want := range map[string]string{"operational": `id="mine"`, "degraded": `id="mine"`, "major_outage": `<svg xmlns="http://www.w3.org/2000/svg"/>`} {
		if r := f.get("/favicon/" + state); r.header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(r.body, want) {
			t.Errorf("%s with a partial set: %s %q", state, r.header.Get("Content-Type"), r.body)
		}
	}
}

// Auto refresh adds the meta tag, off by default.
func TestAutoRefresh(t *testing.T) {
	f := newFixture(t, settings(), nil)
	if strings.Contains(f.get("/").body, `http-equiv="refresh"`) {
		t.Error("refresh by default")
	}
	s := settings()
	s.AutoRefresh = time.Minute
	f = newFixture(t, s, nil)
	if !strings.Contains(f.get("/").body, `<meta http-equiv="refresh" content="60">`) {
		t.Error("no refresh meta")
	}
}

func TestBadgeEscapes(t *testing.T) {
	en, _ := i18n.MustLoad().Get("en")
	svg := string(page.Badge(`A<b>&"`, status.MajorOutage, false, en))
	if strings.Contains(svg, "<b>") || !strings.Contains(svg, "A&lt;b&gt;&amp;&#34;") || !strings.Contains(svg, "major outage") {
		t.Errorf("badge: %s", svg)
	}
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Errorf("badge is not XML: %v", err)
	}
}

// page.frame_ancestors lets chosen sites frame the pages: the policy names
// them, and X-Frame-Options (which cannot) is not sent.
func TestFrameAncestors(t *testing.T) {
	s := settings()
	s.FrameAncestors = []string{"https://intranet.acme.example"}
	f := newFixture(t, s, nil)
	f.seed("")
	r := f.get("/")
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors https://intranet.acme.example") || r.header.Get("X-Frame-Options") != "" {
		t.Errorf("headers: %v", r.header)
	}
}

// The archive's months are the site's: an incident on 31 October at
// 20:00 UTC is on 1 November in Auckland, and listed there.
func TestArchiveMonthsInTheSiteTimeZone(t *testing.T) {
	loc := time.FixedZone("NZDT", 13*3600) // Auckland in summer
	s := settings()
	s.Location = loc
	f := newFixture(t, s, nil)
	at := time.Date(2026, 10, 31, 20, 0, 0, 0, time.UTC)
	if err := f.st.Update(context.Background(), func(tx *store.Tx) error {
		_, err := tx.OpenIncident("Late in October, UTC", nil, store.Resolved, "x", false, at)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	f.refresh()
	if r := f.get("/history/2026/11"); r.code != 200 || !strings.Contains(r.body, "Late in October, UTC") || !strings.Contains(r.body, "Sunday 1 November 2026") {
		t.Errorf("November in Auckland: %d", r.code)
	}
	if r := f.get("/history/2026/10"); r.code != 404 {
		t.Errorf("October in Auckland: %d, want 404 (no incident there)", r.code)
	}
}

// Several maintenance notices do not push the status below the fold on a
// phone: the banner comes first, the first notice is open, the others
// are folded.
func TestManyMaintenanceNotices(t *testing.T) {
	f := newFixture(t, settings(), nil)
	f.seed("")
	if err := f.st.Update(context.Background(), func(tx *store.Tx) error {
		for _, title := range []string{"Second window", "Third window"} {
			if _, err := tx.AddMaintenance(title, "", now.Add(3*time.Hour), nil, nil, now); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f.refresh()
	body := f.get("/").body
	banner, first := strings.Index(body, `class="banner`), strings.Index(body, "Upgrade")
	if banner < 0 || first < 0 || banner > first {
		t.Errorf("the banner (at %d) does not come before the first notice (at %d)", banner, first)
	}
	if strings.Count(body, `<details class="notice`) != 2 || !strings.Contains(body, `<section class="notice`) {
		t.Errorf("want the first notice open and two folded:\n%s", body)
	}
	wellFormed(t, body)
}

// englishWords are texts of the English page that no other language's
// page may hold (names the operator wrote aside).
var englishWords = []string{"Skip to content", "History", "Recent incidents", "Other services", "Partial outage", "Operational",
	"Some systems", "uptime over", "days ago", "Today", "Occurred", "Affects", "Powered by", "Investigating", "Identified",
	"Resolved", "changed", "Incident history", "minutes ago", "hours ago", "Major impact"}

// The page speaks the visitor's language: by Accept-Language, by ?lang=
// (remembered in a cookie), and page.language forces one; every language
// is cached apart, and no English text is left on the others.
func TestPageLanguages(t *testing.T) {
	f := newFixture(t, settings(), nil)
	f.seed("")
	f.refresh()
	en := f.get("/")
	if !strings.Contains(en.body, `<html lang="en">`) || !strings.Contains(en.body, "Some systems are experiencing partial outages") {
		t.Fatalf("English page:\n%s", en.body)
	}
	for _, code := range i18n.MustLoad().Codes()[1:] {
		r := f.get("/", "Accept-Language", code+";q=0.9, ja")
		if !strings.Contains(r.body, `<html lang="`+code+`">`) {
			t.Errorf("%s: not the %s page", code, code)
		}
		if !strings.Contains(r.header.Get("Vary"), "Accept-Language") {
			t.Errorf("%s: Vary %q", code, r.header.Get("Vary"))
		}
		doc, err := html.Parse(strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		text := visibleText(doc)
		for _, w := range englishWords {
			if strings.Contains(text, w) {
				t.Errorf("%s page still says %q", code, w)
			}
		}
		// Its incident and archive pages too.
		inc := f.get("/incidents/1", "Accept-Language", code)
		if !strings.Contains(inc.body, `<html lang="`+code+`">`) {
			t.Errorf("%s: the incident page is in another language", code)
		}
	}
	it := f.get("/", "Accept-Language", "it-IT")
	for _, want := range []string{"Alcuni sistemi hanno interruzioni parziali", "Incidenti recenti", "di disponibilità", "Interruzione parziale"} {
		if !strings.Contains(it.body, want) {
			t.Errorf("Italian page lacks %q", want)
		}
	}
	// ?lang= switches and is remembered.
	de := f.get("/?lang=de", "Accept-Language", "it")
	if !strings.Contains(de.body, `<html lang="de">`) || !strings.Contains(de.header.Get("Set-Cookie"), "statusd_lang=de") {
		t.Fatalf("?lang=de: %s", de.header)
	}
	if r := f.get("/", "Cookie", "statusd_lang=de", "Accept-Language", "it"); !strings.Contains(r.body, `<html lang="de">`) {
		t.Error("the language chosen is not remembered")
	}
	if r := f.get("/?lang=xx"); !strings.Contains(r.body, `<html lang="en">`) || r.header.Get("Set-Cookie") != "" {
		t.Error("an unknown ?lang= changed something")
	}
	// Each language is its own cached page with its own ETag.
	if en.header.Get("ETag") == it.header.Get("ETag") {
		t.Error("English and Italian share an ETag")
	}
	// page.language forces one, with no switcher.
	s := settings()
	s.Language = "fr"
	f2 := newFixture(t, s, nil)
	f2.seed("")
	f2.refresh()
	fr := f2.get("/?lang=de", "Accept-Language", "it")
	if !strings.Contains(fr.body, `<html lang="fr">`) || strings.Contains(fr.body, `hreflang="de"`) {
		t.Errorf("page.language fr: %s", fr.body[:200])
	}
}

// A page in another language is rendered on its first request from the
// snapshot the request holds, which reads the snapshot before it; a
// rebuild meanwhile drops that one. Under -race this failed (the Chromium
// test found it) until the link was atomic.
func TestLanguagesWhileRebuilding(t *testing.T) {
	f := newFixture(t, settings(), nil)
	f.seed("")
	f.refresh()
	var rebuilds atomic.Int32
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			default:
			}
			f.pages.Refresh(context.Background())
			rebuilds.Add(1)
		}
	}()
	// At least 20 requests, and on until 5 rebuilds ran among them.
	for i := 0; i < 20 || rebuilds.Load() < 5; i++ {
		if r := f.get("/", "Accept-Language", "it"); !strings.Contains(r.body, `<html lang="it">`) {
			t.Errorf("request %d: not the Italian page", i)
		}
	}
	close(stop)
	<-stopped
}

// visibleText is a page's text as read, without scripts and styles.
func visibleText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style") {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// The widget is the banner alone, in the visitor's language, and any site
// may frame it (the pages themselves: none).
func TestWidget(t *testing.T) {
	f := newFixture(t, settings(), nil)
	f.seed("")
	f.refresh()
	r := f.get("/widget", "Accept-Language", "it")
	if r.code != 200 || !strings.Contains(r.body, "Alcuni sistemi hanno interruzioni parziali") || !strings.Contains(r.body, `target="_blank"`) {
		t.Fatalf("widget: %d\n%s", r.code, r.body)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors *") || r.header.Get("X-Frame-Options") != "" {
		t.Errorf("the widget cannot be framed: %v", r.header)
	}
	if csp := f.get("/").header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("the page can be framed: %s", csp)
	}
}
