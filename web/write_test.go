package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/downtime"
	"github.com/statusd/statusd/evaluator"
	"github.com/statusd/statusd/internal/board"
	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/web/auth"
)

// writeFixture serves the whole API over a real store, with a real
// evaluator writing and three tokens: write, read and revoked.
type writeFixture struct {
	srv                  *httptest.Server
	st                   *store.Store
	cache                *board.Cache
	write, read, revoked string
	auth                 *auth.Authenticator
	operator             content.Operator
}

const writeConfig = `
receivers:
  ops: {webhook: {url: "http://127.0.0.1:1/hook"}}
services:
  - name: API
    notify: {receivers: [ops]}
  - name: Docs
incidents:
  templates:
    - {name: db-slow, title: "The database is slow", impact: minor, state: identified, message: "Queries take **seconds**."}
    - {name: fixed, state: resolved, message: "Fixed."}
`

type operatorFixture struct {
	*evaluator.Evaluator
	st *store.Store
}

func (o operatorFixture) Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	return o.st.Audit(ctx, q)
}

func newWriteFixture(t testing.TB) *writeFixture {
	t.Helper()
	ctx := context.Background()
	st := sqliteStore(t)
	cfg, err := config.Parse([]byte(writeConfig), "", config.OSEnv())
	if err != nil {
		t.Fatal(err)
	}
	e := evaluator.New(evaluator.Options{Store: st})
	e.Apply(cfg)
	if err := e.Load(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	f := &writeFixture{st: st}
	if f.write, err = st.AddToken(ctx, "deploy", store.ScopeWrite, now); err != nil {
		t.Fatal(err)
	}
	if f.read, err = st.AddToken(ctx, "grafana", store.ScopeRead, now); err != nil {
		t.Fatal(err)
	}
	if f.revoked, err = st.AddToken(ctx, "old", store.ScopeWrite, now); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeToken(ctx, "old", now); err != nil {
		t.Fatal(err)
	}
	a := auth.New(auth.Options{Store: st})
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	f.cache = board.New(board.Options{Store: st, Registerer: reg})
	f.auth, f.operator = a, operatorFixture{e, st}
	h, err := Handler(Options{Logger: slog.New(slog.DiscardHandler), Board: f.cache, History: st, Gatherer: reg,
		Auth: a, Operator: f.operator, Downtime: st})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// call makes a request with a JSON body (none when body is "") and a
// bearer token (none when ""), and returns the code, headers and body.
func (f *writeFixture) call(t *testing.T, method, path, token, body string) (int, http.Header, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// refresh makes the board read the store now.
func (f *writeFixture) refresh(t *testing.T) {
	t.Helper()
	if err := f.cache.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// writeRoutes are every write route with a body that is valid for it.
var writeRoutes = []struct{ method, path, body string }{
	{"POST", "/api/v1/incidents", `{"title":"Payments fail"}`},
	{"PATCH", "/api/v1/incidents/1", `{"impact":"major"}`},
	{"POST", "/api/v1/incidents/1/updates", `{"state":"identified"}`},
	{"DELETE", "/api/v1/incidents/1", ""},
	{"PUT", "/api/v1/services/API/status", `{"status":"degraded"}`},
	{"DELETE", "/api/v1/services/API/status", ""},
	{"POST", "/api/v1/maintenances", `{"title":"DB upgrade","start":"2030-01-01T00:00:00Z"}`},
	{"PATCH", "/api/v1/maintenances/1", `{"title":"DB upgrade, part 1"}`},
	{"DELETE", "/api/v1/maintenances/1", ""},
	{"POST", "/api/v1/groups", `{"name":"Backend","priority":2}`},
	{"POST", "/api/v1/services", `{"name":"Billing","group":"Backend","link":"https://billing.example"}`},
	{"PATCH", "/api/v1/services/Billing", `{"priority":5}`},
	{"DELETE", "/api/v1/services/Billing", ""},
	{"PATCH", "/api/v1/groups/Backend", `{"collapse":"always"}`},
	{"DELETE", "/api/v1/groups/Backend", ""},
	{"POST", "/api/v1/downtime", `{"reason":"deploy","end_in":"30m"}`},
	{"POST", "/api/v1/downtime", `{"reason":"deploy 2"}`},
	{"POST", "/api/v1/downtime/end", ""},
	{"DELETE", "/api/v1/downtime/1", ""},
	{"GET", "/api/v1/audit", ""},
}

// TestWriteAPIAuth: every write route answers 401 to no token and to a
// revoked one, 403 to a read token, and works with a write token — and
// nothing is written or audited by the refused ones.
func TestWriteAPIAuth(t *testing.T) {
	f := newWriteFixture(t)
	for _, rt := range writeRoutes {
		for _, c := range []struct {
			who, token string
			want       int
		}{{"anonymous", "", 401}, {"revoked", f.revoked, 401}, {"read token", f.read, 403}, {"garbage", "sdt_nope", 401}} {
			code, hdr, body := f.call(t, rt.method, rt.path, c.token, rt.body)
			if code != c.want || !json.Valid([]byte(body)) || !strings.Contains(body, `"error"`) {
				t.Errorf("%s %s as %s: %d %s, want %d with a JSON error", rt.method, rt.path, c.who, code, body, c.want)
			}
			if code == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s as %s: 401 without WWW-Authenticate", rt.method, rt.path, c.who)
			}
		}
	}
	entries, err := f.st.Audit(context.Background(), store.AuditQuery{})
	if err != nil || len(entries) != 0 {
		t.Fatalf("refused writes were audited: %v %+v", err, entries)
	}
	for _, rt := range writeRoutes {
		code, _, body := f.call(t, rt.method, rt.path, f.write, rt.body)
		if code < 200 || code > 299 {
			t.Errorf("%s %s with a write token: %d %s", rt.method, rt.path, code, body)
		}
	}
	entries, err = f.st.Audit(context.Background(), store.AuditQuery{})
	if err != nil || len(entries) != len(writeRoutes)-1 { // GET /audit writes nothing
		t.Fatalf("audit after the writes: %v, %d entries, want %d", err, len(entries), len(writeRoutes)-1)
	}
	for _, e := range entries {
		if e.Actor != "token:deploy" || e.Via != store.ViaAPI {
			t.Errorf("audit entry %+v: want actor token:deploy via api", e)
		}
	}
}

// TestWriteAPIIncidentFlow: a deploy script opens an incident that puts a
// service in major outage, updates it and resolves it; the service follows
// (its history records each change), the page's API shows it, and the
// audit log has each step with before and after.
func TestWriteAPIIncidentFlow(t *testing.T) {
	f := newWriteFixture(t)
	code, hdr, body := f.call(t, "POST", "/api/v1/incidents", f.write,
		`{"title":"Checkout <script>alert(1)</script>","impact":"major","message":"Card payments **fail**.","services":[{"name":"API","status":"major_outage"},"Docs"]}`)
	if code != 201 || hdr.Get("Location") != "/api/v1/incidents/1" {
		t.Fatalf("create: %d %v %s", code, hdr, body)
	}
	var inc store.Incident
	if err := json.Unmarshal([]byte(body), &inc); err != nil {
		t.Fatal(err)
	}
	if inc.Impact != "major" || inc.State() != store.Investigating || len(inc.Services) != 2 || inc.Statuses["API"] != "major_outage" || inc.Statuses["Docs"] != "" {
		t.Fatalf("created %+v", inc)
	}
	f.refresh(t)
	_, _, svc := f.call(t, "GET", "/api/v1/services/API", "", "")
	if !strings.Contains(svc, `"status":"major_outage"`) || !strings.Contains(svc, `"manual":true`) {
		t.Fatalf("API after the incident: %s", svc)
	}
	_, _, summary := f.call(t, "GET", "/api/v1/summary", "", "")
	if !strings.Contains(summary, `"worst_status":"major_outage"`) || !strings.Contains(summary, "Checkout \\u003cscript\\u003e") {
		t.Errorf("summary: %s", summary)
	}

	if code, _, body := f.call(t, "POST", "/api/v1/incidents/1/updates", f.write, `{"state":"identified","message":"The PSP is down."}`); code != 201 || !strings.Contains(body, `"state":"identified"`) {
		t.Fatalf("update: %d %s", code, body)
	}
	if code, _, body := f.call(t, "POST", "/api/v1/incidents/1/updates", f.write, `{"state":"resolved"}`); code != 201 || !strings.Contains(body, `"closed":true`) {
		t.Fatalf("resolve: %d %s", code, body)
	}
	f.refresh(t)
	_, _, svc = f.call(t, "GET", "/api/v1/services/API", "", "")
	if !strings.Contains(svc, `"status":"operational"`) || !strings.Contains(svc, `"manual":false`) {
		t.Fatalf("API after the incident was resolved: %s", svc)
	}
	_, _, hist := f.call(t, "GET", "/api/v1/services/API/history", "", "")
	if strings.Count(hist, `"cause":"manual"`) != 2 {
		t.Errorf("API's history: want the set and the clear, got %s", hist)
	}
	// The service's receivers are told, through the evaluator's outbox.
	pending, err := f.st.Outbox(context.Background(), store.OutboxPending)
	if err != nil {
		t.Fatal(err)
	}
	var told []string
	for _, r := range pending {
		if r.Receiver == "ops" && r.Kind == "status_change" {
			told = append(told, r.Payload)
		}
	}
	if len(told) != 2 || !strings.Contains(told[0], `"to":"major_outage"`) || !strings.Contains(told[1], `"to":"operational"`) {
		t.Errorf("ops was told %d changes: %v", len(told), told)
	}

	entries, err := f.st.Audit(context.Background(), store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, " ") != "incident.update incident.update incident.create" {
		t.Fatalf("audit: %v", actions)
	}
	if entries[2].Before != "" || !strings.Contains(entries[2].After, `"impact":"major"`) || !strings.Contains(entries[0].Before, `"identified"`) || !strings.Contains(entries[0].After, `"resolved"`) {
		t.Errorf("audit before/after: %+v", entries)
	}
	code, _, body = f.call(t, "GET", "/api/v1/audit?limit=2", f.write, "")
	if code != 200 || !strings.Contains(body, `"next":"?before=`) || strings.Count(body, `"action"`) != 2 {
		t.Errorf("GET /api/v1/audit?limit=2: %d %s", code, body)
	}

	if code, _, body := f.call(t, "DELETE", "/api/v1/incidents/1", f.write, ""); code != 204 || body != "" {
		t.Fatalf("delete: %d %s", code, body)
	}
	f.refresh(t)
	if code, _, _ := f.call(t, "GET", "/api/v1/incidents/1", "", ""); code != 404 {
		t.Errorf("a deleted incident: %d", code)
	}
}

// TestIncidentTemplates: a template fills what a write leaves out, and
// what the write gives wins.
func TestIncidentTemplates(t *testing.T) {
	f := newWriteFixture(t)
	code, _, body := f.call(t, "POST", "/api/v1/incidents", f.write, `{"template":"db-slow","impact":"major"}`)
	if code != 201 || !strings.Contains(body, `"title":"The database is slow"`) || !strings.Contains(body, `"impact":"major"`) ||
		!strings.Contains(body, `"state":"identified"`) || !strings.Contains(body, "Queries take **seconds**.") {
		t.Fatalf("from a template: %d %s", code, body)
	}
	code, _, body = f.call(t, "POST", "/api/v1/incidents/1/updates", f.write, `{"template":"fixed"}`)
	if code != 201 || !strings.Contains(body, `"closed":true`) || !strings.Contains(body, `"message":"Fixed."`) {
		t.Fatalf("an update from a template: %d %s", code, body)
	}
}

// TestDowntimeAPI: a period started through the API is served to anyone
// at /api/v1/downtime with an ETag (304 when unchanged); ending it closes
// the open-ended periods that started, and ending none is a 409.
func TestDowntimeAPI(t *testing.T) {
	f := newWriteFixture(t)
	if code, _, body := f.call(t, "POST", "/api/v1/downtime/end", f.write, ""); code != 409 || !strings.Contains(body, "no downtime period is in progress") {
		t.Errorf("end with none: %d %s", code, body)
	}
	if code, _, body := f.call(t, "POST", "/api/v1/downtime", f.write, `{"reason":"Deploying v2.3","services":["API"]}`); code != 201 || body != `{"id":1}`+"\n" {
		t.Fatalf("start: %d %s", code, body)
	}
	code, hdr, body := f.call(t, "GET", "/api/v1/downtime", "", "")
	var state downtime.State
	if err := json.Unmarshal([]byte(body), &state); err != nil || code != 200 || hdr.Get("ETag") == "" {
		t.Fatalf("GET: %d %v %s", code, err, body)
	}
	if down, reason, until := state.Down(time.Now()); !down || reason != "Deploying v2.3" || until != nil || strings.Join(state.Periods[0].Services, ",") != "API" {
		t.Errorf("state %+v", state)
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/downtime", nil)
	req.Header.Set("If-None-Match", hdr.Get("ETag"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	f.refresh(t)
	if _, _, sum := f.call(t, "GET", "/api/v1/summary", "", ""); !strings.Contains(sum, `"downtime":{"active":true,"periods":[{"id":1,"enabled":true,`) {
		t.Errorf("summary during downtime: %s", sum)
	}
	if code, _, body := f.call(t, "POST", "/api/v1/downtime/end", f.write, ""); code != 200 || body != `{"ended":[1]}`+"\n" {
		t.Errorf("end: %d %s", code, body)
	}
	_, hdr2, body := f.call(t, "GET", "/api/v1/downtime", "", "")
	if hdr2.Get("ETag") == hdr.Get("ETag") || body != `{"periods":[]}`+"\n" {
		t.Errorf("after the end: ETag %s, %s", hdr2.Get("ETag"), body)
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/v1/downtime", `{"end_in":"soon"}`},
		{"POST", "/api/v1/downtime", `{"end":"2020-01-01T00:00:00Z"}`},
		{"POST", "/api/v1/downtime", `{"services":["Nope"]}`},
	} {
		if code, _, body := f.call(t, c.method, c.path, f.write, c.body); code != 400 || !strings.Contains(body, `"fields"`) {
			t.Errorf("%s %s: %d %s", c.path, c.body, code, body)
		}
	}
	if code, _, _ := f.call(t, "DELETE", "/api/v1/downtime/99", f.write, ""); code != 404 {
		t.Errorf("cancel an unknown period: %d", code)
	}
}

// TestWriteAPIErrors: each kind of bad request gets its own code and a
// JSON error, and writes nothing.
func TestWriteAPIErrors(t *testing.T) {
	f := newWriteFixture(t)
	big := `{"title":"` + strings.Repeat("x", maxBody) + `"}`
	for _, c := range []struct {
		name, method, path, ctype, body string
		want                            int
		says                            string
	}{
		{"wrong content type", "POST", "/api/v1/incidents", "text/plain", `{"title":"x"}`, 415, "Content-Type"},
		{"no content type", "POST", "/api/v1/incidents", "", `{"title":"x"}`, 415, "JSON"},
		{"oversized", "POST", "/api/v1/incidents", "application/json", big, 413, "larger than"},
		{"unknown field", "POST", "/api/v1/incidents", "application/json", `{"title":"x","severity":"high"}`, 400, `unknown field \"severity\"`},
		{"two values", "POST", "/api/v1/incidents", "application/json", `{"title":"x"} {}`, 400, "more than one value"},
		{"not JSON", "POST", "/api/v1/incidents", "application/json", `{"title":`, 400, "invalid JSON"},
		{"wrong type", "POST", "/api/v1/incidents", "application/json", `{"title":3}`, 400, `field \"title\"`},
		{"missing title", "POST", "/api/v1/incidents", "application/json", `{"impact":"severe"}`, 400, `"title":"is required"`},
		{"bad impact", "POST", "/api/v1/incidents", "application/json", `{"title":"x","impact":"severe"}`, 400, `"impact":`},
		{"future", "POST", "/api/v1/incidents", "application/json", `{"title":"x","occurred":"2999-01-01T00:00:00Z"}`, 400, `"occurred":"is in the future"`},
		{"unknown service", "POST", "/api/v1/incidents", "application/json", `{"title":"x","services":["Nope"]}`, 400, `"services":`},
		{"bad status", "PUT", "/api/v1/services/API/status", "application/json", `{"status":"on fire"}`, 400, "unknown service status"},
		{"no status", "PUT", "/api/v1/services/API/status", "application/json", `{}`, 400, `"status":"is required`},
		{"unknown service path", "PUT", "/api/v1/services/Nope/status", "application/json", `{"status":"degraded"}`, 404, "not found"},
		{"unknown incident", "POST", "/api/v1/incidents/99/updates", "application/json", `{"state":"resolved"}`, 404, "no such incident"},
		{"bad id", "PATCH", "/api/v1/incidents/x", "application/json", `{"title":"y"}`, 404, "no incident"},
		{"empty patch", "POST", "/api/v1/incidents", "application/json", `{"title":"ok"}`, 201, ""},
		{"patch nothing", "PATCH", "/api/v1/incidents/1", "application/json", `{}`, 400, "changes nothing"},
		{"end before start", "POST", "/api/v1/maintenances", "application/json", `{"title":"m","start":"2030-01-02T00:00:00Z","end":"2030-01-01T00:00:00Z"}`, 400, `"end":"is not after start"`},
		{"unknown maintenance", "DELETE", "/api/v1/maintenances/5", "", "", 404, "no such maintenance"},
		{"bad audit limit", "GET", "/api/v1/audit?limit=-1", "", "", 400, "positive integer"},
		{"unknown template", "POST", "/api/v1/incidents", "application/json", `{"template":"nope"}`, 400, `"template":"no template \"nope\"`},
		{"no title, no template", "POST", "/api/v1/incidents", "application/json", `{"message":"x"}`, 400, `"title":"is required"`},
		{"a config service's name", "POST", "/api/v1/services", "application/json", `{"name":"API"}`, 409, "taken"},
		{"a config service", "PATCH", "/api/v1/services/API", "application/json", `{"priority":1}`, 409, "defined in the config"},
		{"delete a config service", "DELETE", "/api/v1/services/Docs", "", "", 409, "defined in the config"},
		{"unknown group", "POST", "/api/v1/services", "application/json", `{"name":"Mail","group":"Nope"}`, 400, `"group":`},
		{"bad link", "POST", "/api/v1/services", "application/json", `{"name":"Mail","link":"javascript:alert(1)"}`, 400, `"link":"is not an http(s) address"`},
		{"slash in name", "POST", "/api/v1/services", "application/json", `{"name":"a/b"}`, 400, `"name":`},
		{"unknown service path", "PATCH", "/api/v1/services/Nope", "application/json", `{"priority":1}`, 404, "service Nope not found"},
		{"unknown group path", "DELETE", "/api/v1/groups/Nope", "", "", 404, "group Nope not found"},
		{"bad collapse", "POST", "/api/v1/groups", "application/json", `{"name":"G","collapse":"sometimes"}`, 400, `"collapse":`},
	} {
		req, _ := http.NewRequest(c.method, f.srv.URL+c.path, strings.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		req.Header.Set("Authorization", "Bearer "+f.write)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want || !json.Valid(b) || !strings.Contains(string(b), c.says) {
			t.Errorf("%s: %d %.300s, want %d saying %s", c.name, resp.StatusCode, b, c.want, c.says)
		}
	}
	entries, _ := f.st.Audit(context.Background(), store.AuditQuery{})
	if len(entries) != 1 {
		t.Errorf("want only the one good write audited, got %d", len(entries))
	}
}

// TestMethodNotAllowedSaysAllow: a known path with a method it does not
// answer gets 405 with the methods it does.
func TestMethodNotAllowedSaysAllow(t *testing.T) {
	f := newWriteFixture(t)
	for path, want := range map[string]string{
		"/api/v1/incidents":         "GET, HEAD, POST",
		"/api/v1/incidents/1":       "GET, HEAD, PATCH, DELETE",
		"/api/v1/services/A/status": "PUT, DELETE",
		"/api/v1/audit":             "GET, HEAD",
	} {
		code, hdr, body := f.call(t, "OPTIONS", path, f.write, "")
		if path == "/api/v1/incidents" {
			code, hdr, body = f.call(t, "PUT", path, f.write, "")
		}
		if code != 405 || hdr.Get("Allow") != want || !json.Valid([]byte(body)) {
			t.Errorf("%s: %d Allow %q %s, want 405 Allow %q", path, code, hdr.Get("Allow"), body, want)
		}
	}
}

// FuzzWriteBodies: whatever the body of a write, statusd answers a 2xx or
// a 4xx with JSON, never a 5xx or a panic.
func FuzzWriteBodies(f *testing.F) {
	for _, rt := range writeRoutes {
		if rt.body != "" {
			f.Add(rt.body)
		}
	}
	f.Add(`{"title":"x","services":[{"name":"API","status":"major_outage","x":1}]}`)
	f.Add(`{"title":"x","services":[3]}`)
	f.Add(`{"end":null}`)
	f.Add(`{"title":"\u0000","message":"` + strings.Repeat("é", 30) + `"}`)
	fx := newWriteFixture(f)
	f.Fuzz(func(t *testing.T, body string) {
		for _, rt := range writeRoutes {
			if rt.body == "" {
				continue
			}
			req, _ := http.NewRequest(rt.method, fx.srv.URL+rt.path, bytes.NewReader([]byte(body)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+fx.write)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 500 || (len(b) > 0 && !json.Valid(b)) {
				t.Fatalf("%s %s %q: %d %s", rt.method, rt.path, body, resp.StatusCode, b)
			}
		}
	})
}
