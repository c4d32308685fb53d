package downtime

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 2, 22, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

// TestPeriodRule: enabled ∧ start ≤ now ∧ (no end ∨ now ≤ end); no start
// never applies; periods ahead switch on and off by the clock alone.
func TestPeriodRule(t *testing.T) {
	for _, c := range []struct {
		name string
		p    Period
		now  time.Duration
		want bool
	}{
		{"open-ended, started", Period{Enabled: true, Start: at(0)}, time.Hour, true},
		{"at its start", Period{Enabled: true, Start: at(0)}, 0, true},
		{"before its start", Period{Enabled: true, Start: at(time.Hour)}, 0, false},
		{"at its end", Period{Enabled: true, Start: at(0), End: at(time.Hour)}, time.Hour, true},
		{"after its end", Period{Enabled: true, Start: at(0), End: at(time.Hour)}, time.Hour + time.Nanosecond, false},
		{"disabled", Period{Enabled: false, Start: at(0)}, time.Hour, false},
		{"no start", Period{Enabled: true, End: at(time.Hour)}, 0, false},
		{"no start, no end", Period{Enabled: true}, 0, false},
	} {
		if got := c.p.Active(t0.Add(c.now)); got != c.want {
			t.Errorf("%s: Active = %v, want %v", c.name, got, c.want)
		}
	}
	// Several periods: down while any is active, until the latest end,
	// or with no known end while an open-ended one is active.
	s := State{Periods: []Period{
		{ID: 1, Enabled: true, Start: at(0), End: at(time.Hour), Reason: "database upgrade"},
		{ID: 2, Enabled: true, Start: at(30 * time.Minute), End: at(2 * time.Hour), Reason: "second"},
		{ID: 3, Enabled: true, Start: at(3 * time.Hour), Reason: "open-ended"},
	}}
	for _, c := range []struct {
		now    time.Duration
		down   bool
		reason string
		until  *time.Time
	}{
		{-time.Minute, false, "", nil},
		{10 * time.Minute, true, "database upgrade", at(time.Hour)},
		{45 * time.Minute, true, "database upgrade", at(2 * time.Hour)},
		{90 * time.Minute, true, "second", at(2 * time.Hour)},
		{150 * time.Minute, false, "", nil},
		{4 * time.Hour, true, "open-ended", nil},
	} {
		down, reason, until := s.Down(t0.Add(c.now))
		if down != c.down || reason != c.reason || !timeEqual(until, c.until) {
			t.Errorf("at +%s: down %v %q until %v, want %v %q %v", c.now, down, reason, until, c.down, c.reason, c.until)
		}
	}
}

// source is a Source a test changes.
type source struct {
	mu    sync.Mutex
	state State
	err   error
}

func (s *source) State(context.Context) (State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state, s.err
}

func (s *source) set(st State, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state, s.err = st, err
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// rig is a middleware in front of an app that answers "app", on a
// source and a clock of the test's.
type rig struct {
	src     *source
	clock   *clock
	watcher *Watcher
	handler http.Handler
}

func newRig(t *testing.T, opts Options) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := &rig{src: &source{}, clock: &clock{now: t0}}
	r.watcher = Watch(ctx, r.src, WatchOptions{Interval: time.Hour})
	opts.Now = r.clock.Now
	app := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "app") })
	r.handler = Middleware(r.watcher, opts)(app)
	return r
}

// down starts an open-ended period now, or one ending after d.
func (r *rig) down(t *testing.T, reason string, d time.Duration) {
	t.Helper()
	p := Period{ID: 1, Enabled: true, Start: at(-time.Minute), Reason: reason}
	if d > 0 {
		p.End = at(d)
	}
	r.src.set(State{Periods: []Period{p}}, nil)
	if err := r.watcher.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
}

type reply struct {
	code int
	hdr  http.Header
	body string
}

func (r *rig) do(method, target, remote string, header map[string]string) reply {
	req := httptest.NewRequest(method, target, nil)
	if remote != "" {
		req.RemoteAddr = remote
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	r.handler.ServeHTTP(rec, req)
	return reply{rec.Code, rec.Header(), rec.Body.String()}
}

// TestMiddleware: every rule, in order, up and down.
func TestMiddleware(t *testing.T) {
	r := newRig(t, Options{
		ExemptExactURLs: []string{"/healthz"},
		ExemptPaths:     []string{"/admin", "/static/"},
		AllowNetworks:   []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("2001:db8::/32")},
		TrustedProxies:  []netip.Prefix{netip.MustParsePrefix("192.168.0.0/24")},
		BypassCookie:    "letmein", BypassHeader: "X-Bypass", BypassSecret: "s3cret",
		Bypass: func(r *http.Request) bool { return r.Header.Get("X-Staff") == "yes" },
	})
	if got := r.do("GET", "/", "", nil); got.code != 200 || got.body != "app" {
		t.Fatalf("up: %d %q", got.code, got.body)
	}
	r.down(t, "Database upgrade <b>", 30*time.Minute)
	for _, c := range []struct {
		name, method, target, remote string
		header                       map[string]string
		served                       bool
	}{
		{"a visitor", "GET", "/", "203.0.113.9:5000", nil, false},
		{"a POST", "POST", "/checkout", "203.0.113.9:5000", nil, false},
		{"a DELETE", "DELETE", "/x", "203.0.113.9:5000", nil, false},
		{"exact URL", "GET", "/healthz", "203.0.113.9:5000", nil, true},
		{"exact URL with a query", "GET", "/healthz?full=1", "203.0.113.9:5000", nil, true},
		{"child of an exact URL", "GET", "/healthz/db", "203.0.113.9:5000", nil, false},
		{"prefix itself", "GET", "/admin", "203.0.113.9:5000", nil, true},
		{"under a prefix", "POST", "/admin/downtime/end", "203.0.113.9:5000", nil, true},
		{"a sibling of a prefix", "GET", "/administrators", "203.0.113.9:5000", nil, false},
		{"prefix with a slash", "GET", "/static/app.css", "203.0.113.9:5000", nil, true},
		{"allowed network", "GET", "/", "10.1.2.3:5000", nil, true},
		{"allowed IPv6 network", "GET", "/", "[2001:db8::1]:5000", nil, true},
		{"allowed address forged without a trusted proxy", "GET", "/", "203.0.113.9:5000", map[string]string{"X-Forwarded-For": "10.1.2.3"}, false},
		{"allowed address behind a trusted proxy", "GET", "/", "192.168.0.7:5000", map[string]string{"X-Forwarded-For": "10.1.2.3"}, true},
		{"stranger behind a trusted proxy", "GET", "/", "192.168.0.7:5000", map[string]string{"X-Forwarded-For": "203.0.113.9"}, false},
		{"forged first hop behind a trusted proxy", "GET", "/", "192.168.0.7:5000", map[string]string{"X-Forwarded-For": "10.1.2.3, 203.0.113.9"}, false},
		{"two trusted proxies", "GET", "/", "192.168.0.7:5000", map[string]string{"X-Forwarded-For": "10.1.2.3, 192.168.0.8"}, true},
		{"broken chain", "GET", "/", "192.168.0.7:5000", map[string]string{"X-Forwarded-For": "10.1.2.3, nonsense"}, false},
		{"bypass", "GET", "/", "203.0.113.9:5000", map[string]string{"X-Staff": "yes"}, true},
		{"bypass header", "GET", "/", "203.0.113.9:5000", map[string]string{"X-Bypass": "s3cret"}, true},
		{"wrong bypass header", "GET", "/", "203.0.113.9:5000", map[string]string{"X-Bypass": "guess"}, false},
		{"bypass cookie", "GET", "/", "203.0.113.9:5000", map[string]string{"Cookie": "letmein=s3cret"}, true},
		{"wrong bypass cookie", "GET", "/", "203.0.113.9:5000", map[string]string{"Cookie": "letmein=s3cre"}, false},
	} {
		got := r.do(c.method, c.target, c.remote, c.header)
		if served := got.code == 200 && got.body == "app"; served != c.served {
			t.Errorf("%s: %d %.60q, served %v, want %v", c.name, got.code, got.body, served, c.served)
		}
		if !c.served && (got.code != 503 || got.hdr.Get("Cache-Control") != "no-store" || got.hdr.Get("Retry-After") != "1800") {
			t.Errorf("%s: %d Cache-Control %q Retry-After %q, want 503, no-store, 1800", c.name, got.code, got.hdr.Get("Cache-Control"), got.hdr.Get("Retry-After"))
		}
	}
	page := r.do("GET", "/", "", nil)
	if ct := page.hdr.Get("Content-Type"); ct != "text/html; charset=utf-8" || !strings.Contains(page.body, "Database upgrade &lt;b&gt;") ||
		!strings.Contains(page.body, `datetime="2026-12-02T22:30:00Z"`) {
		t.Errorf("the down page: %s\n%s", ct, page.body)
	}
	js := r.do("GET", "/api/orders", "", map[string]string{"Accept": "application/json"})
	if js.code != 503 || js.hdr.Get("Content-Type") != "application/json" || js.body != `{"error":"down for maintenance","reason":"Database upgrade \u003cb\u003e","until":"2026-12-02T22:30:00Z","retry_after":1800}`+"\n" {
		t.Errorf("JSON: %d %s %s", js.code, js.hdr.Get("Content-Type"), js.body)
	}
	if b := r.do("GET", "/", "", map[string]string{"Accept": "text/html,application/json;q=0.9"}); !strings.HasPrefix(b.hdr.Get("Content-Type"), "text/html") {
		t.Error("a browser that prefers HTML got JSON")
	}
	if h := r.do("HEAD", "/", "", nil); h.code != 503 || h.body != "" {
		t.Errorf("HEAD: %d %q", h.code, h.body)
	}

	// Open-ended: no Retry-After, "back shortly".
	r.down(t, "", 0)
	if got := r.do("GET", "/", "", nil); got.code != 503 || got.hdr.Get("Retry-After") != "" || !strings.Contains(got.body, "back shortly") {
		t.Errorf("open-ended: %d Retry-After %q", got.code, got.hdr.Get("Retry-After"))
	}
	// The period ends by the clock alone.
	r.down(t, "", 30*time.Minute)
	r.clock.set(t0.Add(31 * time.Minute))
	if got := r.do("GET", "/", "", nil); got.code != 200 {
		t.Errorf("after its end: %d", got.code)
	}
}

// TestMiddlewareRedirect: with redirect_url every method is sent there,
// and a redirect to a path of the site itself is not redirected again.
func TestMiddlewareRedirect(t *testing.T) {
	r := newRig(t, Options{RedirectURL: "/maintenance.html", ExemptPaths: []string{}})
	r.down(t, "x", 0)
	for _, m := range []string{"GET", "POST", "PUT"} {
		if got := r.do(m, "/admin", "", nil); got.code != 302 || got.hdr.Get("Location") != "/maintenance.html" || got.hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("%s /admin (the default exemption replaced): %d %v", m, got.code, got.hdr)
		}
	}
	if got := r.do("GET", "/maintenance.html", "", nil); got.code != 200 {
		t.Errorf("the redirect's own page: %d", got.code)
	}
}

// TestSourceAway: when the source cannot be read, the last state holds.
func TestSourceAway(t *testing.T) {
	r := newRig(t, Options{})
	r.down(t, "upgrade", 0)
	r.src.set(State{}, errors.New("connection refused"))
	if err := r.watcher.Refresh(context.Background()); err == nil {
		t.Fatal("no error from a failing source")
	}
	if got := r.do("GET", "/", "", nil); got.code != 503 {
		t.Errorf("with the source away: %d, want the last state (down)", got.code)
	}
}

// TestRemote: a statusd's /api/v1/downtime is followed, with its ETag.
func TestRemote(t *testing.T) {
	var mu sync.Mutex
	hits, notModified := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		hits++
		if r.URL.Path != "/api/v1/downtime" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("If-None-Match") == `"v1"` {
			notModified++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		_, _ = io.WriteString(w, `{"periods":[{"id":1,"enabled":true,"start":"2026-12-02T21:00:00Z","end":null,"reason":"deploy","services":[]}]}`)
	}))
	defer srv.Close()
	src := Remote(srv.URL+"/", nil)
	for range 3 {
		s, err := src.State(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if down, reason, _ := s.Down(t0); !down || reason != "deploy" {
			t.Fatalf("remote state %+v", s)
		}
	}
	if hits != 3 || notModified != 2 {
		t.Errorf("%d requests, %d not modified; want 3 and 2", hits, notModified)
	}
	srv.Close()
	if _, err := src.State(context.Background()); err == nil {
		t.Error("no error from a statusd that went away")
	}
}

// BenchmarkMiddlewareUp is the cost of the middleware on a request while
// the site is up (BENCHMARKS.md: ≤ 1 µs, no allocation).
func BenchmarkMiddlewareUp(b *testing.B) {
	// A period scheduled for tomorrow: one to look at, none active.
	tomorrow := time.Now().Add(24 * time.Hour)
	w := Watch(b.Context(), SourceFunc(func(context.Context) (State, error) {
		return State{Periods: []Period{{ID: 1, Enabled: true, Start: &tomorrow}}}, nil
	}), WatchOptions{Interval: time.Hour})
	if err := w.Refresh(b.Context()); err != nil {
		b.Fatal(err)
	}
	served := 0
	h := Middleware(w, Options{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ }))
	req := httptest.NewRequest("GET", "/checkout?x=1", nil)
	rec := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(rec, req)
	}
	if served != b.N {
		b.Fatalf("the app served %d of %d requests", served, b.N)
	}
}

func timeEqual(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}
