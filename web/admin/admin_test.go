package admin_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/statusd/statusd/evaluator"
	"github.com/statusd/statusd/internal/board"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/web"
	"github.com/statusd/statusd/web/admin"
	"github.com/statusd/statusd/web/auth"
)

type operator struct {
	*evaluator.Evaluator
	st *store.Store
}

func (o operator) Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	return o.st.Audit(ctx, q)
}

type fixture struct {
	clock *clockwork.FakeClock
	srv   *httptest.Server
	st    *store.Store
	cache *board.Cache
	reg   *prometheus.Registry
	eval  *evaluator.Evaluator
}

func newFixture(t *testing.T) *fixture {
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
	cfg, err := config.Parse([]byte("services:\n  - name: API\n  - name: Docs\nsmtp: {host: 127.0.0.1}\n"), "", config.OSEnv())
	if err != nil {
		t.Fatal(err)
	}
	// One fake clock for the evaluator and the admin: the login limits
	// refill by it, not by how fast the machine runs the test, and
	// periods start and end by it.
	clock := clockwork.NewFakeClockAt(time.Now())
	e := evaluator.New(evaluator.Options{Store: st, Clock: clock})
	e.Apply(cfg)
	if err := e.Load(ctx); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	cache := board.New(board.Options{Store: st, Registerer: reg})
	if err := cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	op := operator{e, st}
	adm, err := admin.New(admin.Options{Store: st, Operator: op, Subscriptions: e, Boards: cache, Registerer: reg, Clock: clock, Refresh: cache.Refresh})
	if err != nil {
		t.Fatal(err)
	}
	a := auth.New(auth.Options{Store: st})
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := web.Handler(web.Options{Logger: slog.New(slog.DiscardHandler), Board: cache, History: st, Auth: a, Operator: op, Admin: adm})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{clock: clock, srv: httptest.NewServer(h), st: st, cache: cache, reg: reg, eval: e}
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) addUser(t *testing.T, name, password string) {
	t.Helper()
	h, err := store.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.AddUser(context.Background(), name, h, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// browser is a client with cookies that does not follow redirects, as
// a test needs to see them.
type browser struct {
	t      *testing.T
	f      *fixture
	client *http.Client
}

func (f *fixture) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, f: f, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	code int
	hdr  http.Header
	body string
}

func (b *browser) do(method, path string, form url.Values, header map[string]string) answer {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.f.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(out)}
}

func (b *browser) get(path string) answer { return b.do("GET", path, nil, nil) }

func (b *browser) post(path string, form url.Values) answer { return b.do("POST", path, form, nil) }

var csrfPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token of a page's forms.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	a := b.get(path)
	m := csrfPattern.FindStringSubmatch(a.body)
	if m == nil {
		b.t.Fatalf("%s has no CSRF token: %d %s", path, a.code, a.body)
	}
	return m[1]
}

func (b *browser) login(name, password string) answer {
	return b.post("/admin/login", url.Values{"name": {name}, "password": {password}, "next": {"/admin/incidents"}})
}

// TestNoUserNoAdmin: with no user, /admin is closed and says how to open
// it; there is no default user or password.
func TestNoUserNoAdmin(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	a := b.get("/admin")
	if a.code != http.StatusSeeOther || !strings.HasPrefix(a.hdr.Get("Location"), "/admin/login") {
		t.Fatalf("GET /admin: %d %v", a.code, a.hdr)
	}
	a = b.get("/admin/login")
	if a.code != http.StatusServiceUnavailable || !strings.Contains(a.body, "statusd user add NAME") || strings.Contains(a.body, "<form") {
		t.Errorf("login page with no user: %d %s", a.code, a.body)
	}
	for _, guess := range [][2]string{{"admin", "admin"}, {"admin", ""}, {"", ""}, {"statusd", "statusd"}} {
		if a := b.login(guess[0], guess[1]); a.code == http.StatusSeeOther {
			t.Errorf("logged in as %q/%q with no user", guess[0], guess[1])
		}
	}
}

// TestLoginSessionAndLogout: a wrong password is refused and counted; the
// right one starts a session (HttpOnly, SameSite cookie) that opens every
// page and goes to the page asked for, never to another site; logging out
// ends it for good.
func TestLoginSessionAndLogout(t *testing.T) {
	f := newFixture(t)
	f.addUser(t, "ada", "correct horse battery")
	b := f.browser(t)
	if a := b.login("ada", "wrong password!!"); a.code != http.StatusUnauthorized || !strings.Contains(a.body, "Wrong user name or password.") {
		t.Fatalf("wrong password: %d %s", a.code, a.body)
	}
	if a := b.login("bob", "correct horse battery"); a.code != http.StatusUnauthorized || !strings.Contains(a.body, "Wrong user name or password.") {
		t.Fatalf("unknown user: %d %s", a.code, a.body)
	}
	if got := testutil.ToFloat64(mustCounter(t, f.reg, "statusd_admin_logins_total", "failure")); got != 2 {
		t.Errorf("failures counted %v, want 2", got)
	}
	a := b.login("ada", "correct horse battery")
	if a.code != http.StatusSeeOther || a.hdr.Get("Location") != "/admin/incidents" {
		t.Fatalf("login: %d %v", a.code, a.hdr)
	}
	cookie := a.hdr.Get("Set-Cookie")
	for _, want := range []string{"statusd_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	for _, path := range []string{"/admin", "/admin/incidents", "/admin/incidents/new", "/admin/services", "/admin/maintenances", "/admin/tokens", "/admin/users", "/admin/audit"} {
		if a := b.get(path); a.code != 200 || !strings.Contains(a.body, "Log out ada") || a.hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: %d", path, a.code)
		}
	}
	// Somewhere else after login: never another site.
	b2 := f.browser(t)
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/adminx", `/admin\evil`, "javascript:alert(1)"} {
		a := b2.post("/admin/login", url.Values{"name": {"ada"}, "password": {"correct horse battery"}, "next": {next}})
		if loc := a.hdr.Get("Location"); a.code != http.StatusSeeOther || loc != "/admin" {
			t.Errorf("next=%q: %d Location %q, want /admin", next, a.code, loc)
		}
	}

	token := b.csrf("/admin")
	if a := b.post("/admin/logout", url.Values{"csrf": {token}}); a.code != http.StatusSeeOther {
		t.Fatalf("logout: %d %s", a.code, a.body)
	}
	if a := b.get("/admin"); a.code != http.StatusSeeOther {
		t.Errorf("after logout /admin answered %d, want the login page", a.code)
	}
}

func mustCounter(t *testing.T, reg *prometheus.Registry, name, result string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x", Help: "x"}, func() float64 { return m.GetCounter().GetValue() })
				}
			}
		}
	}
	t.Fatalf("no %s{result=%q}", name, result)
	return nil
}

// TestLoginRateLimited: guessing is cut short per client and per name,
// and counted.
func TestLoginRateLimited(t *testing.T) {
	f := newFixture(t)
	f.addUser(t, "ada", "correct horse battery")
	b := f.browser(t)
	var codes []int
	for range 7 {
		codes = append(codes, b.login("ada", "guess guess guess").code)
	}
	if codes[0] != 401 || codes[4] != 401 || codes[5] != 429 || codes[6] != 429 {
		t.Fatalf("codes %v: want five 401 then 429", codes)
	}
	a := b.login("ada", "correct horse battery")
	if a.code != 429 || a.hdr.Get("Retry-After") == "" {
		t.Errorf("the right password while limited: %d Retry-After %q", a.code, a.hdr.Get("Retry-After"))
	}
	if got := testutil.ToFloat64(mustCounter(t, f.reg, "statusd_admin_logins_total", "limited")); got != 3 {
		t.Errorf("limited counted %v, want 3", got)
	}
}

// TestFormsNeedTheirCSRFToken: a logged-in user's form without its token,
// with another session's token, or sent from another site is refused
// (403) and writes nothing; with it, it writes.
func TestFormsNeedTheirCSRFToken(t *testing.T) {
	f := newFixture(t)
	f.addUser(t, "ada", "correct horse battery")
	f.addUser(t, "bob", "correct horse battery")
	b := f.browser(t)
	b.login("ada", "correct horse battery")
	other := f.browser(t)
	other.login("bob", "correct horse battery")
	otherToken := other.csrf("/admin")
	form := func(csrf string) url.Values {
		v := url.Values{"title": {"Payments fail"}, "impact": {"major"}, "state": {"investigating"}, "service": {"API"}, "status:API": {"major_outage"}}
		if csrf != "" {
			v.Set("csrf", csrf)
		}
		return v
	}
	for name, a := range map[string]answer{
		"no token":            b.post("/admin/incidents", form("")),
		"another's token":     b.post("/admin/incidents", form(otherToken)),
		"cross-site":          b.do("POST", "/admin/incidents", form(b.csrf("/admin")), map[string]string{"Sec-Fetch-Site": "cross-site"}),
		"cross-origin":        b.do("POST", "/admin/incidents", form(b.csrf("/admin")), map[string]string{"Origin": "https://evil.example"}),
		"anonymous":           f.browser(t).post("/admin/incidents", form(otherToken)),
		"cross-site login":    f.browser(t).do("POST", "/admin/login", url.Values{"name": {"ada"}, "password": {"correct horse battery"}}, map[string]string{"Sec-Fetch-Site": "cross-site"}),
		"token of logged out": b.post("/admin/tokens", url.Values{"name": {"x"}, "scope": {"write"}}),
	} {
		if a.code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, a.code)
		}
	}
	if incs, total, _ := f.st.Incidents(context.Background(), store.IncidentQuery{}); total != 0 {
		t.Fatalf("refused forms wrote %+v", incs)
	}
	a := b.post("/admin/incidents", form(b.csrf("/admin/incidents/new")))
	if a.code != http.StatusSeeOther || a.hdr.Get("Location") != "/admin/incidents/1" {
		t.Fatalf("the form with its token: %d %v %s", a.code, a.hdr, a.body)
	}
}

// TestAdminIncidentFlow: an operator opens an incident that puts a service
// in major outage, posts updates until it is resolved, and the service, the
// audit log and the escaping all follow; a bad form comes back with its
// errors.
func TestAdminIncidentFlow(t *testing.T) {
	f := newFixture(t)
	f.addUser(t, "ada", "correct horse battery")
	b := f.browser(t)
	b.login("ada", "correct horse battery")
	token := b.csrf("/admin/incidents/new")

	bad := b.post("/admin/incidents", url.Values{"csrf": {token}, "title": {""}, "impact": {"severe"}, "occurred": {"yesterday"}})
	if bad.code != http.StatusBadRequest || !strings.Contains(bad.body, "is required") || !strings.Contains(bad.body, "not a date and time") {
		t.Fatalf("a bad form: %d %s", bad.code, bad.body)
	}

	title := `Checkout <script>alert(1)</script>`
	a := b.post("/admin/incidents", url.Values{"csrf": {token}, "title": {title}, "impact": {"critical"}, "state": {"investigating"},
		"message": {"Card payments **fail**. <img src=x onerror=alert(1)>"}, "occurred": {"2026-12-01T09:30"},
		"service": {"API"}, "status:API": {"major_outage"}})
	if a.code != http.StatusSeeOther {
		t.Fatalf("open: %d %s", a.code, a.body)
	}
	inc, err := f.st.Incident(context.Background(), 1)
	if err != nil || inc.Impact != "critical" || inc.Statuses["API"] != "major_outage" || inc.Occurred.Format(time.RFC3339) != "2026-12-01T09:30:00Z" {
		t.Fatalf("stored %+v %v", inc, err)
	}
	rows, _ := f.st.Services(context.Background())
	for _, r := range rows {
		if r.Name == "API" && r.Status != 3 {
			t.Errorf("API is at %d, want major outage (3)", r.Status)
		}
	}
	page := b.get("/admin/incidents/1")
	if strings.Contains(page.body, "<script>alert") || !strings.Contains(page.body, "Checkout &lt;script&gt;") ||
		strings.Contains(page.body, "<img") || !strings.Contains(page.body, "<strong>fail</strong>") {
		t.Errorf("the incident page does not escape or render:\n%s", page.body)
	}

	for _, st := range []string{"identified", "monitoring", "resolved"} {
		if a := b.post("/admin/incidents/1/updates", url.Values{"csrf": {token}, "state": {st}}); a.code != http.StatusSeeOther {
			t.Fatalf("update %s: %d %s", st, a.code, a.body)
		}
	}
	inc, _ = f.st.Incident(context.Background(), 1)
	if !inc.Closed || len(inc.Updates) != 4 {
		t.Errorf("after resolving: closed %v, %d updates", inc.Closed, len(inc.Updates))
	}
	rows, _ = f.st.Services(context.Background())
	for _, r := range rows {
		if r.Name == "API" && (r.Status != 0 || r.ManualStatus.Valid) {
			t.Errorf("API after the incident was resolved: status %d manual %v", r.Status, r.ManualStatus)
		}
	}
	audit := b.get("/admin/audit")
	if strings.Count(audit.body, "incident.update") != 3 || !strings.Contains(audit.body, "incident.create") || !strings.Contains(audit.body, "ada <span class=\"tag\">admin</span>") {
		t.Errorf("audit page:\n%s", audit.body)
	}

	if a := b.post("/admin/incidents/1/delete", url.Values{"csrf": {token}}); a.code != http.StatusBadRequest {
		t.Errorf("delete without confirming: %d", a.code)
	}
	if a := b.post("/admin/incidents/1/delete", url.Values{"csrf": {token}, "confirm": {"yes"}}); a.code != http.StatusSeeOther {
		t.Errorf("delete: %d %s", a.code, a.body)
	}
	if a := b.get("/admin/incidents/1"); a.code != http.StatusNotFound {
		t.Errorf("a deleted incident: %d", a.code)
	}
	// A row's number is digits: anything else is no page, not row 0.
	for _, path := range []string{"/admin/incidents/x1", "/admin/incidents/-1", "/admin/maintenances/1e3", "/admin/incidents/99999999999999999999"} {
		if a := b.get(path); a.code != http.StatusNotFound || !strings.Contains(a.body, "no such endpoint") {
			t.Errorf("GET %s: %d %s, want the router's 404", path, a.code, a.body)
		}
	}
	if a := b.post("/admin/downtime/x/cancel", url.Values{"csrf": {token}}); a.code != http.StatusNotFound {
		t.Errorf("cancel downtime x: %d, want 404", a.code)
	}
}

// TestAdminTokensAndStatuses: a token is shown once at its creation and
// works with the API; revoked, it does not; a status set by hand shows.
func TestAdminTokensAndStatuses(t *testing.T) {
	f := newFixture(t)
	f.addUser(t, "ada", "correct horse battery")
	b := f.browser(t)
	b.login("ada", "correct horse battery")
	token := b.csrf("/admin/tokens")
	a := b.post("/admin/tokens", url.Values{"csrf": {token}, "name": {"deploy"}, "scope": {"write"}})
	m := regexp.MustCompile(`sdt_[A-Za-z0-9_-]+`).FindString(a.body)
	if a.code != http.StatusCreated || m == "" {
		t.Fatalf("create: %d %s", a.code, a.body)
	}
	if again := b.get("/admin/tokens"); strings.Contains(again.body, m) {
		t.Error("the token is shown again")
	}
	if a := b.post("/admin/tokens", url.Values{"csrf": {token}, "name": {"deploy"}, "scope": {"write"}}); a.code != http.StatusConflict {
		t.Errorf("a taken name: %d", a.code)
	}
	if a := b.post("/admin/tokens/revoke", url.Values{"csrf": {token}, "name": {"deploy"}}); a.code != http.StatusSeeOther {
		t.Errorf("revoke: %d %s", a.code, a.body)
	}
	if a := b.post("/admin/services/status", url.Values{"csrf": {token}, "service": {"Docs"}, "status": {"degraded"}, "reason": {"slow <b>builds</b>"}}); a.code != http.StatusSeeOther {
		t.Fatalf("set status: %d %s", a.code, a.body)
	}
	page := b.get("/admin/services")
	if !strings.Contains(page.body, "degraded · by hand: slow &lt;b&gt;builds&lt;/b&gt;") {
		t.Errorf("services page:\n%s", page.body)
	}
	entries, _ := f.st.Audit(context.Background(), store.AuditQuery{})
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if strings.Contains(e.After, "sdt_") {
			t.Errorf("the audit log holds a token: %+v", e)
		}
	}
	if strings.Join(actions, " ") != "service.status.set token.revoke token.create" {
		t.Errorf("audit: %v", actions)
	}

	// Services and groups made here; the config's are marked and stay.
	if a := b.post("/admin/groups", url.Values{"csrf": {token}, "name": {"Backend"}, "priority": {"3"}, "collapse": {"always"}}); a.code != http.StatusSeeOther {
		t.Fatalf("make a group: %d %s", a.code, a.body)
	}
	if a := b.post("/admin/services", url.Values{"csrf": {token}, "name": {"Billing <i>"}, "group": {"Backend"}, "link": {"https://billing.example"}}); a.code != http.StatusSeeOther {
		t.Fatalf("make a service: %d %s", a.code, a.body)
	}
	if a := b.post("/admin/services", url.Values{"csrf": {token}, "name": {"API"}}); a.code != http.StatusBadRequest || !strings.Contains(a.body, "taken") {
		t.Errorf("a config service's name: %d", a.code)
	}
	if a := b.post("/admin/services", url.Values{"csrf": {token}, "name": {"Mail"}, "priority": {"high"}}); a.code != http.StatusBadRequest || !strings.Contains(a.body, "whole number") {
		t.Errorf("a bad priority: %d", a.code)
	}
	if a := b.post("/admin/services/delete", url.Values{"csrf": {token}, "name": {"API"}}); a.code != http.StatusBadRequest || !strings.Contains(a.body, "defined in the config") {
		t.Errorf("delete a config service: %d", a.code)
	}
	page = b.get("/admin/services")
	if !strings.Contains(page.body, `Billing &lt;i&gt; <span class="tag">admin</span> <small>in Backend</small>`) || !strings.Contains(page.body, `API <span class="tag">config</span>`) {
		t.Errorf("services page:\n%s", page.body)
	}
	if a := b.post("/admin/services/edit", url.Values{"csrf": {token}, "name": {"Billing <i>"}, "group": {""}, "description": {"Invoices"}, "link": {""}, "priority": {"7"}}); a.code != http.StatusSeeOther {
		t.Errorf("edit a service: %d %s", a.code, a.body)
	}
	if s, ok := f.cache.Board().Service("Billing <i>"); !ok || s.Group != "" || s.Description != "Invoices" || s.Priority != 7 {
		t.Errorf("after the edit: %+v", s)
	}
	if a := b.post("/admin/services/edit", url.Values{"csrf": {token}, "name": {"API"}, "priority": {"1"}}); a.code != http.StatusBadRequest || !strings.Contains(a.body, "defined in the config") {
		t.Errorf("edit a config service: %d", a.code)
	}
	if a := b.post("/admin/groups/edit", url.Values{"csrf": {token}, "name": {"Backend"}, "priority": {"9"}, "collapse": {"never"}}); a.code != http.StatusSeeOther {
		t.Errorf("edit a group: %d %s", a.code, a.body)
	}
	if a := b.post("/admin/services/delete", url.Values{"csrf": {token}, "name": {"Billing <i>"}}); a.code != http.StatusSeeOther {
		t.Errorf("delete a service: %d %s", a.code, a.body)
	}
	if a := b.post("/admin/groups/delete", url.Values{"csrf": {token}, "name": {"Backend"}}); a.code != http.StatusSeeOther {
		t.Errorf("delete a group: %d %s", a.code, a.body)
	}
	if _, ok := f.cache.Board().Service("Billing <i>"); ok {
		t.Error("the deleted service is still on the board")
	}

	// A maintenance window: scheduled, edited, cancelled.
	if a := b.post("/admin/maintenances", url.Values{"csrf": {token}, "title": {"DB upgrade"}, "start": {"2030-01-01T22:00"}, "end": {"2030-01-01T21:00"}}); a.code != http.StatusBadRequest || !strings.Contains(a.body, "is not after start") {
		t.Errorf("a window that ends before it starts: %d", a.code)
	}
	if a := b.post("/admin/maintenances", url.Values{"csrf": {token}, "title": {"DB upgrade"}, "start": {"2030-01-01T22:00"}, "service": {"API"}}); a.code != http.StatusSeeOther {
		t.Fatalf("schedule: %d %s", a.code, a.body)
	}
	if page := b.get("/admin/maintenances/1"); page.code != 200 || !strings.Contains(page.body, `value="2030-01-01T22:00"`) || !strings.Contains(page.body, `value="API" checked`) {
		t.Errorf("the window's form: %d\n%s", page.code, page.body)
	}
	if a := b.post("/admin/maintenances/1", url.Values{"csrf": {token}, "title": {"DB upgrade, part 1"}, "start": {"2030-01-01T22:00"}, "end": {"2030-01-01T23:30"}, "service": {"Docs"}}); a.code != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", a.code, a.body)
	}
	ms, _ := f.st.Maintenances(context.Background(), time.Now())
	if len(ms) != 1 || ms[0].Title != "DB upgrade, part 1" || ms[0].End() == nil || strings.Join(ms[0].Services, ",") != "Docs" {
		t.Fatalf("after the edit: %+v", ms)
	}
	if a := b.post("/admin/maintenances/1/cancel", url.Values{"csrf": {token}}); a.code != http.StatusSeeOther {
		t.Errorf("cancel: %d", a.code)
	}
	if a := b.get("/admin/maintenances/1"); a.code != http.StatusNotFound {
		t.Errorf("a cancelled window: %d", a.code)
	}

	// Downtime: started, shown, ended.
	if a := b.post("/admin/downtime", url.Values{"csrf": {token}, "reason": {"Deploying <v2>"}, "service": {"API"}}); a.code != http.StatusSeeOther {
		t.Fatalf("start downtime: %d %s", a.code, a.body)
	}
	if page := b.get("/admin/downtime"); !strings.Contains(page.body, "The site is down for maintenance.") || !strings.Contains(page.body, "Deploying &lt;v2&gt;") {
		t.Errorf("the downtime page:\n%s", page.body)
	}
	if a := b.post("/admin/downtime/end", url.Values{"csrf": {token}}); a.code != http.StatusSeeOther {
		t.Errorf("end downtime: %d", a.code)
	}
	f.clock.Advance(time.Second) // the period ended at the frozen clock's now
	if page := b.get("/admin/downtime"); !strings.Contains(page.body, "The site is up.") {
		t.Errorf("after the end:\n%s", page.body)
	}
}
