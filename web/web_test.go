package web

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/exporter"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/testsvc"
	"github.com/statusd/statusd/web/auth"
)

type fixture struct {
	srv      *httptest.Server
	exporter *exporter.Exporter
	clock    *clockwork.FakeClock
	target   *httptest.Server
	up       atomic.Bool
	// hits counts the requests the target received; when hold is set,
	// the target waits for it before answering.
	hits     atomic.Int32
	hold     chan struct{}
	reached  chan struct{} // told when a held request arrives
	recorded chan status.Result
	reloads  int
}

// newFixture serves the API over a real exporter whose http check probes
// a target that the test can take down. Its clock stands still unless the
// test moves it, so fresh results stay fresh.
func newFixture(t *testing.T, withReload bool) *fixture {
	t.Helper()
	return newFixtureWith(t, withReload, nil)
}

// newFixtureWith is newFixture with options of the test's (set changes
// them, when not nil).
func newFixtureWith(t *testing.T, withReload bool, set func(*Options)) *fixture {
	t.Helper()
	f := &fixture{clock: clockwork.NewFakeClock(), recorded: make(chan status.Result, 1000)}
	f.up.Store(true)
	f.target = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		if f.hold != nil {
			f.reached <- struct{}{}
			<-f.hold
		}
		if !f.up.Load() {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	t.Cleanup(f.target.Close)
	cfg, err := config.Parse([]byte(`
resources:
  health:
    - {name: ping, kind: ping}
    - {name: api, kind: http, url: "`+f.target.URL+`"}
    - {name: backup, kind: heartbeat, token: s3cret}
    - {name: cron, kind: heartbeat}
  stats:
    - {name: code, kind: build}
    - {name: cron, kind: heartbeat}
`), "", config.OSEnv())
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	f.exporter = exporter.New(exporter.Options{Logger: logger, Clock: f.clock, Observers: []exporter.Observer{observerFunc(func(_ status.CheckID, r status.Result) {
		f.recorded <- r
	})}})
	if err := f.exporter.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	opts := Options{
		Logger:       logger,
		Checks:       f.exporter,
		Gatherer:     reg,
		Registerer:   reg,
		CheckMetrics: f.exporter.WriteMetrics,
		Version:      "test",
	}
	if withReload {
		opts.Reload = func(context.Context) error {
			f.reloads++
			if f.reloads > 1 {
				return errors.New("statusd.yml:3: site.name: bad")
			}
			return nil
		}
	}
	if set != nil {
		set(&opts)
	}
	h, err := Handler(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// observerFunc is an exporter.Observer that hands results to a function.
type observerFunc func(status.CheckID, status.Result)

func (o observerFunc) Observe(id status.CheckID, res status.Result) { o(id, res) }

func (f *fixture) do(t *testing.T, method, path string, header http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	return m
}

func TestChecksAPI(t *testing.T) {
	f := newFixture(t, false)
	// Before the first run everything is "not checked yet", at problem.
	code, _, body := f.do(t, "GET", "/api/v1/checks", nil)
	if code != 503 || !strings.Contains(body, `"message":"not checked yet"`) {
		t.Fatalf("before runs: %d %s", code, body)
	}
	code, _, body = f.do(t, "GET", "/api/v1/checks/health?fresh=1", nil)
	if code != 503 {
		t.Errorf("fresh health with never-reported heartbeats: %d %s", code, body)
	}

	code, hdr, body := f.do(t, "GET", "/api/v1/checks/health/ping?fresh=1", nil)
	ping := decode(t, body)
	if code != 200 || hdr.Get("Content-Type") != "application/json" || ping["level"] != "fine" || ping["success"] != true ||
		ping["value"] != nil || ping["message"] != "pong" || ping["details"].(map[string]any)["pong"] != true ||
		ping["checked_at"] == nil || ping["duration_seconds"] == nil {
		t.Errorf("ping: %d %s", code, body)
	}

	code, _, body = f.do(t, "GET", "/api/v1/checks/stats/code/?fresh=true", nil)
	if code != 200 || decode(t, body)["details"].(map[string]any)["version"] == nil {
		t.Errorf("code stats: %d %s", code, body)
	}

	code, _, body = f.do(t, "GET", "/api/v1/checks/health/api?fresh=1", nil)
	if code != 200 || decode(t, body)["value"].(float64) <= 0 {
		t.Errorf("api up: %d %s", code, body)
	}
	f.up.Store(false)
	code, _, body = f.do(t, "GET", "/api/v1/checks/health/api?fresh=1", nil)
	if code != 200 || f.hits.Load() != 1 {
		t.Errorf("a fresh request within %s of the last run probed again (%d runs): %d %s", exporter.DefaultFreshFloor, f.hits.Load(), code, body)
	}
	f.clock.Advance(exporter.DefaultFreshFloor)
	code, _, body = f.do(t, "GET", "/api/v1/checks/health/api?fresh=1", nil)
	if code != 503 || !strings.Contains(body, "HTTP 502") {
		t.Errorf("api down: %d %s", code, body)
	}
	// Without fresh, the latest result is served.
	code, _, body = f.do(t, "GET", "/api/v1/checks/health/api", nil)
	if code != 503 || !strings.Contains(body, "HTTP 502") {
		t.Errorf("latest: %d %s", code, body)
	}

	code, _, body = f.do(t, "GET", "/api/v1/checks/stats", nil)
	stats := decode(t, body)
	if code != 503 || len(stats) != 2 || stats["code"] == nil {
		t.Errorf("stats resource: %d %s", code, body)
	}
	code, _, body = f.do(t, "GET", "/api/v1/checks", nil)
	if code != 503 || !strings.HasPrefix(body, `{"health":{"ping":`) || !strings.Contains(body, `"stats":{"code":`) {
		t.Errorf("all: %d %s", code, body)
	}
	code, _, body = f.do(t, "HEAD", "/api/v1/checks/health/ping", nil)
	if code != 200 || body != "" {
		t.Errorf("HEAD: %d %q", code, body)
	}
}

// A burst of fresh requests runs each check once.
func TestFreshBurst(t *testing.T) {
	f := newFixture(t, false)
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/checks/health?fresh=1", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if n := f.hits.Load(); n != 1 {
		t.Errorf("100 fresh requests probed the target %d times, want 1", n)
	}
	api, _ := f.exporter.Check(status.CheckID{Resource: "health", Check: "api"})
	if r, _ := api.Latest(); !r.Success {
		t.Errorf("api: %+v", r)
	}
}

// A client that goes away before a fresh run ends changes nothing: the run
// completes and counts as it would have.
func TestFreshClientGoesAway(t *testing.T) {
	f := newFixture(t, false)
	f.hold, f.reached = make(chan struct{}), make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/checks/health/api?fresh=1", nil)
	gone := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		gone <- err
	}()
	<-f.reached
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("the client did not go away: %v", err)
	}
	close(f.hold)
	r := <-f.recorded
	if !r.Success || r.Level != status.Fine {
		t.Errorf("the run the client left recorded %+v, want a success", r)
	}
	_, _, metrics := f.do(t, "GET", "/metrics", nil)
	if !strings.Contains(metrics, `statusd_check_failures_total{check="api",resource="health"} 0`) ||
		!strings.Contains(metrics, `statusd_check_success{check="api",resource="health"} 1`) {
		t.Errorf("metrics after the client left:\n%s", metrics)
	}
}

func TestChecksAPIErrors(t *testing.T) {
	f := newFixture(t, false)
	cases := []struct {
		method, path string
		code         int
		msg          string
	}{
		{"GET", "/api/v1/checks/nope", 404, "resource nope not found"},
		{"GET", "/api/v1/checks/health/nope", 404, "check health/nope not found"},
		{"OPTIONS", "/api/v1/checks/nope", 404, "resource nope not found"},
		{"GET", "/api/v1/nothing", 404, "no such endpoint: /api/v1/nothing"},
		{"POST", "/api/v1/checks", 405, "method POST is not allowed on /api/v1/checks"},
		{"DELETE", "/api/v1/checks/health/ping", 405, "method DELETE is not allowed"},
		{"POST", "/-/reload", 403, "the lifecycle API is disabled"},
	}
	for _, c := range cases {
		code, hdr, body := f.do(t, c.method, c.path, nil)
		if code != c.code || hdr.Get("Content-Type") != "application/json" || !strings.Contains(decode(t, body)["error"].(string), c.msg) {
			t.Errorf("%s %s = %d %s, want %d with %q", c.method, c.path, code, body, c.code, c.msg)
		}
	}
}

func TestOptionsURLMap(t *testing.T) {
	f := newFixture(t, false)
	code, hdr, body := f.do(t, "OPTIONS", "/api/v1/checks", nil)
	all := decode(t, body)
	if code != 200 || hdr.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Fatalf("OPTIONS: %d %v", code, hdr)
	}
	if got := all["health"].(map[string]any)["ping"]; got != f.srv.URL+"/api/v1/checks/health/ping" {
		t.Errorf("health/ping URL = %v", got)
	}
	_, _, body = f.do(t, "OPTIONS", "/api/v1/checks/stats", nil)
	if got := decode(t, body)["code"]; got != f.srv.URL+"/api/v1/checks/stats/code" {
		t.Errorf("stats/code URL = %v", got)
	}

	// With an external URL the map uses it.
	h := &handler{opts: Options{Checks: f.exporter, ExternalURL: mustURL(t, "https://status.acme.example/statusd/")}}
	r := httptest.NewRequest("OPTIONS", "/api/v1/checks", nil)
	if got := h.baseURL(r); got != "https://status.acme.example/statusd/api/v1/checks" {
		t.Errorf("base URL = %s", got)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestHeartbeatAPI(t *testing.T) {
	f := newFixture(t, false)
	bearer := http.Header{"Authorization": {"Bearer s3cret"}}
	cases := []struct {
		path   string
		header http.Header
		code   int
		want   string
	}{
		{"/api/v1/heartbeats/health/backup", nil, 401, "wrong or missing token for health/backup"},
		{"/api/v1/heartbeats/health/backup?token=nope", nil, 401, "wrong or missing token"},
		{"/api/v1/heartbeats/health/backup", bearer, 200, `"level":"fine"`},
		{"/api/v1/heartbeats/health/backup?token=s3cret&status=fail", nil, 200, `"message":"last run failed `},
		{"/api/v1/heartbeats/health/backup?token=s3cret&status=maybe", nil, 400, "status must be ok or fail"},
		{"/api/v1/heartbeats/backup?token=s3cret", nil, 200, `"level":"fine"`},
		{"/api/v1/heartbeats/cron", nil, 409, "several checks are named cron"},
		{"/api/v1/heartbeats/stats/cron", nil, 200, `"level":"fine"`},
		{"/api/v1/heartbeats/health/ping", nil, 400, "health/ping is not a heartbeat check"},
		{"/api/v1/heartbeats/health/nope", nil, 404, "check health/nope not found"},
		{"/api/v1/heartbeats/nope", nil, 404, "check nope not found"},
	}
	for _, c := range cases {
		code, hdr, body := f.do(t, "POST", c.path, c.header)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("POST %s = %d %s, want %d with %s", c.path, code, body, c.code, c.want)
		}
		if code == 401 && hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate")
		}
	}
	if code, _, _ := f.do(t, "GET", "/api/v1/heartbeats/health/backup", bearer); code != 405 {
		t.Errorf("GET on a heartbeat = %d, want 405", code)
	}
}

func TestLifecycle(t *testing.T) {
	f := newFixture(t, true)
	for _, c := range []struct {
		method, path string
		code         int
		want         string
	}{
		{"GET", "/-/healthy", 200, "Healthy."},
		{"GET", "/-/ready", 200, "Ready."},
		{"POST", "/-/reload", 200, `{"status":"reloaded"}`},
		{"POST", "/-/reload", 400, "config not reloaded: statusd.yml:3: site.name: bad"},
		{"GET", "/-/reload", 405, "not allowed"},
		{"GET", "/", 200, "statusd"},
		{"GET", "/metrics", 200, ""},
	} {
		code, _, body := f.do(t, c.method, c.path, nil)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s %s = %d %s", c.method, c.path, code, body)
		}
	}
}

func TestMetricsEndpoint(t *testing.T) {
	f := newFixture(t, false)
	sel, _ := f.exporter.Select("health", "ping")
	f.exporter.Results(context.Background(), sel, true)

	req, _ := http.NewRequest("GET", f.srv.URL+"/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gunzip
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("headers: %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	// A check that never ran has its info and no result series yet.
	if !strings.Contains(string(body), `statusd_check_success{check="ping",resource="health"} 1`) ||
		strings.Contains(string(body), `statusd_check_success{check="api"`) ||
		!regexp.MustCompile(`statusd_check_info\{check="api",kind="\w+",resource="health"\} 1`).MatchString(string(body)) {
		t.Errorf("body:\n%s", body)
	}
	code, _, plain := f.do(t, "GET", "/metrics", http.Header{"Accept-Encoding": {"identity"}})
	if code != 200 || !strings.Contains(plain, "# TYPE statusd_check_runs_total counter") {
		t.Errorf("plain: %d\n%s", code, plain)
	}
	if code, _, body := f.do(t, "HEAD", "/metrics", nil); code != 200 || body != "" {
		t.Errorf("HEAD: %d %q", code, body)
	}
}

// /metrics parses and lints clean (in Go, no promtool), and counts the
// requests to statusd's own handlers by route template, never by path.
func TestMetricsByRoute(t *testing.T) {
	f := newFixture(t, false)
	f.do(t, "GET", "/api/v1/checks/health", nil)
	f.do(t, "GET", "/api/v1/checks/health/ping", nil)
	f.do(t, "GET", "/api/v1/checks/nope", nil)
	f.do(t, "DELETE", "/api/v1/checks", nil)
	f.do(t, "GET", "/no/such/path", nil)
	_, _, metrics := f.do(t, "GET", "/metrics", nil)
	mfs := testsvc.ParseMetrics(t, metrics)
	counts := map[string]float64{}
	for _, m := range mfs["statusd_http_requests_total"].GetMetric() {
		var code, handler string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "code":
				code = l.GetValue()
			case "handler":
				handler = l.GetValue()
			}
		}
		counts[handler+" "+code] = m.GetCounter().GetValue()
	}
	want := map[string]float64{
		"/api/v1/checks/{resource} 503": 1, "/api/v1/checks/{resource} 404": 1, // 503: not checked yet
		"/api/v1/checks/{resource}/{check} 503": 1, "other 405": 1, "other 404": 1,
	}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("statusd_http_requests_total %s = %v, want %v (all: %v)", k, counts[k], v, counts)
		}
	}
	for k := range counts {
		if strings.Contains(k, "/health") || strings.Contains(k, "/no/such") {
			t.Errorf("a path is a label value: %s", k)
		}
	}
	if mfs["statusd_http_request_duration_seconds"] == nil || mfs["statusd_check_info"] == nil {
		t.Errorf("families missing: %v", metrics)
	}
}

// A failed run is recorded as failed however a cron job says so: a form
// (curl -d, curl -F), a JSON body, plain text or the query; the bearer
// scheme in any case; the token before any of the body.
func TestHeartbeatBodies(t *testing.T) {
	f := newFixture(t, false)
	multipartBody := func(status string) (string, string) {
		var b strings.Builder
		mw := multipart.NewWriter(&b)
		_ = mw.WriteField("status", status)
		_ = mw.Close()
		return mw.FormDataContentType(), b.String()
	}
	mpType, mpFail := multipartBody("fail")
	mpTypeOK, mpOK := multipartBody("ok")
	cases := []struct {
		name, auth, ctype, body string
		code                    int
		failed                  bool
	}{
		{"form fail", "Bearer s3cret", "application/x-www-form-urlencoded", "status=fail", 200, true},
		{"form ok", "Bearer s3cret", "application/x-www-form-urlencoded", "status=ok", 200, false},
		{"curl -d with no type", "Bearer s3cret", "", "status=fail", 200, true},
		{"multipart fail", "Bearer s3cret", mpType, mpFail, 200, true},
		{"multipart ok", "Bearer s3cret", mpTypeOK, mpOK, 200, false},
		{"json fail", "Bearer s3cret", "application/json", `{"status":"fail"}`, 200, true},
		{"json ok", "Bearer s3cret", "application/json; charset=utf-8", `{"status":"ok","took":12}`, 200, false},
		{"plain text", "Bearer s3cret", "text/plain", "fail\n", 200, true},
		{"lower-case scheme", "bearer s3cret", "", "", 200, false},
		{"bad json", "Bearer s3cret", "application/json", `{"status":`, 400, false},
		{"unknown status", "Bearer s3cret", "application/json", `{"status":"maybe"}`, 400, false},
		{"unknown type", "Bearer s3cret", "application/xml", "<status>fail</status>", 415, false},
		{"too large", "Bearer s3cret", "text/plain", strings.Repeat("x", maxHeartbeatBody+1), 413, false},
		// The token first: a stranger's body is never read.
		{"wrong token, huge body", "Bearer nope", "text/plain", strings.Repeat("x", 4*maxHeartbeatBody), 401, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/heartbeats/health/backup", strings.NewReader(c.body))
			req.Header.Set("Authorization", c.auth)
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.code {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, c.code)
			}
			if c.code == 200 && strings.Contains(string(b), `"message":"last run failed`) != c.failed {
				t.Errorf("failed=%v, got %s", c.failed, b)
			}
		})
	}
}

// FuzzHeartbeatBody: no body or content type panics the decoder, and a
// body that says fail in a form is a failure.
func FuzzHeartbeatBody(f *testing.F) {
	for _, s := range [][2]string{{"application/json", `{"status":"fail"}`}, {"", "status=fail"}, {"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"status\"\r\n\r\nfail\r\n--x--\r\n"},
		{"text/plain", "ok"}, {"application/json", "[]"}, {";;", "\x00"}} {
		f.Add(s[0], s[1], "")
	}
	f.Fuzz(func(t *testing.T, ctype, body, query string) {
		q, _ := url.ParseQuery(query)
		failed, err := heartbeatFailed(q, ctype, strings.NewReader(body))
		if err == nil && failed != (len(q["status"]) > 0 && failedWord(q["status"]) || bodySaysFail(t, ctype, body)) {
			t.Fatalf("failed=%v for %q %q %q", failed, ctype, body, query)
		}
	})
}

func failedWord(ss []string) bool {
	for _, s := range ss {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "fail", "failed", "failure":
			return true
		}
	}
	return false
}

// bodySaysFail reads a body's statuses as the decoder does.
func bodySaysFail(t *testing.T, ctype, body string) bool {
	ss, err := bodyStatuses(ctype, strings.NewReader(body))
	if err != nil {
		t.Fatalf("the body decoded once and not twice: %v", err)
	}
	return failedWord(ss)
}

// ?fresh=1 is a token's (api.fresh: token), anyone's or nobody's; while
// the tokens have never been read it answers 503, which clients retry.
func TestFreshPolicy(t *testing.T) {
	st := sqliteStore(t)
	tok, err := st.AddToken(t.Context(), "ci", store.ScopeRead, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a := auth.New(auth.Options{Store: st})
	mode := config.FreshToken
	f := newFixtureWith(t, false, func(o *Options) {
		o.Auth = a
		o.Fresh = func() string { return mode }
	})
	withToken := http.Header{"Authorization": {"Bearer " + tok}}
	// The tokens not read yet: neither 401 nor a run.
	if code, hdr, body := f.do(t, "GET", "/api/v1/checks/health/ping?fresh=1", withToken); code != 503 || hdr.Get("Retry-After") == "" {
		t.Errorf("tokens unknown: %d %s", code, body)
	}
	if err := a.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mode   string
		header http.Header
		code   int
	}{
		{config.FreshToken, nil, 401},
		{config.FreshToken, http.Header{"Authorization": {"Bearer nope"}}, 401},
		{config.FreshToken, withToken, 200},
		{config.FreshAnonymous, nil, 200},
		{config.FreshOff, withToken, 403},
	} {
		mode = c.mode
		if code, _, body := f.do(t, "GET", "/api/v1/checks/health/ping?fresh=1", c.header); code != c.code {
			t.Errorf("api.fresh %s, header %v: %d %s, want %d", c.mode, c.header, code, body, c.code)
		}
	}
	// Without ?fresh the latest results are anyone's, whatever the mode.
	mode = config.FreshOff
	if code, _, _ := f.do(t, "GET", "/api/v1/checks/health/ping", nil); code != 200 && code != 503 {
		t.Errorf("latest results: %d", code)
	}
}
